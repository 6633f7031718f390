//! Value objects: names, catalog codes, class, level, stats, gold, quantities, positions, seeds.
//!
//! Each one is parsed once at the boundary (`parse`, `TryFrom`, and through serde, which goes
//! through the same parser) and is valid from then on: the domain never sees a raw string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that failed to parse, with the reason in words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValeurInvalide {
    /// A character name that breaks the naming rules.
    #[error("nom de personnage invalide « {nom} » : {raison}")]
    Nom {
        /// The rejected name (truncated).
        nom: String,
        /// Which rule it breaks.
        raison: &'static str,
    },
    /// A catalog code that is not `[a-z][a-z0-9_]*` of at most 48 characters.
    #[error("code de {genre} invalide « {code} » : attendu [a-z][a-z0-9_]*, 48 caractères au plus")]
    Code {
        /// What kind of code (`item`, `zone`...).
        genre: &'static str,
        /// The rejected code (truncated).
        code: String,
    },
    /// A class that is not Tank, DPS or Heal.
    #[error("classe inconnue « {0} » : Tank, DPS ou Heal")]
    Classe(String),
    /// A level of 0.
    #[error("niveau invalide {0} : le niveau commence à 1")]
    Niveau(u32),
    /// A quantity of 0 or above the maximum a single operation may move.
    #[error("quantité invalide {0} : entre 1 et {max}", max = Quantite::MAX)]
    Quantite(u64),
    /// A moderation reason that is blank or too long.
    #[error("raison invalide : {0}")]
    Raison(&'static str),
    /// A coordinate that is not a finite number.
    #[error("position invalide ({x}, {y}) : les coordonnées doivent être des nombres finis")]
    Position {
        /// Abscissa as given.
        x: f64,
        /// Ordinate as given.
        y: f64,
    },
}

fn tronque(s: &str) -> String {
    s.chars().take(64).collect()
}

/// A character's name: 3 to 16 characters, letters (accents welcome), digits, `-` or `_`,
/// starting with a letter. Uniqueness across the game is decided on [`NomJoueur::cle`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NomJoueur(String);

impl NomJoueur {
    /// Shortest accepted name, in characters.
    pub const MIN: usize = 3;
    /// Longest accepted name, in characters.
    pub const MAX: usize = 16;

    /// Parses a name; surrounding blanks are ignored.
    pub fn parse(brut: &str) -> Result<Self, ValeurInvalide> {
        let nom = brut.trim();
        let refus = |raison| ValeurInvalide::Nom {
            nom: tronque(nom),
            raison,
        };
        let longueur = nom.chars().count();
        if longueur < Self::MIN {
            return Err(refus("3 caractères au moins"));
        }
        if longueur > Self::MAX {
            return Err(refus("16 caractères au plus"));
        }
        if !nom.chars().next().is_some_and(char::is_alphabetic) {
            return Err(refus("il doit commencer par une lettre"));
        }
        if !nom
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(refus("lettres, chiffres, « - » et « _ » seulement"));
        }
        Ok(Self(nom.to_owned()))
    }

    /// The name as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that must be unique across the game: case-insensitive, so that « Aragorn » and
    /// « aragorn » cannot both exist.
    pub fn cle(&self) -> String {
        self.0.to_lowercase()
    }
}

impl schemars::JsonSchema for NomJoueur {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NomJoueur".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Stricter than `parse` (which takes any Unicode letter and trims blanks): what the
        // schema accepts, the server accepts.
        schemars::json_schema!({
            "type": "string",
            "minLength": Self::MIN,
            "maxLength": Self::MAX,
            "pattern": "^[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ0-9_-]*$",
            "description": "Nom de personnage : 3 à 16 caractères, lettres (accents admis), chiffres, `-` et `_`, commençant par une lettre ; unique sans égard à la casse.",
        })
    }
}

impl TryFrom<String> for NomJoueur {
    type Error = ValeurInvalide;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<NomJoueur> for String {
    fn from(n: NomJoueur) -> Self {
        n.0
    }
}

impl fmt::Display for NomJoueur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a game master acted, or why a player reports another: 1 to [`Raison::MAX`]
/// characters once trimmed, no control characters. Mandatory on every moderation action: the
/// log says who did what, and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Raison(String);

impl Raison {
    /// Longest accepted reason, in characters.
    pub const MAX: usize = 500;

    /// Parses a reason; surrounding blanks are ignored.
    pub fn parse(brut: &str) -> Result<Self, ValeurInvalide> {
        let raison = brut.trim();
        if raison.is_empty() {
            return Err(ValeurInvalide::Raison("elle est obligatoire et non vide"));
        }
        if raison.chars().count() > Self::MAX {
            return Err(ValeurInvalide::Raison("500 caractères au plus"));
        }
        if raison.chars().any(char::is_control) {
            return Err(ValeurInvalide::Raison("pas de caractère de contrôle"));
        }
        Ok(Self(raison.to_owned()))
    }

    /// The reason as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The schema's pattern of a [`Raison`]: a non-blank character, no control character (C0, DEL,
/// C1: what `char::is_control` refuses).
pub const RAISON_MOTIF: &str =
    "^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$";

impl schemars::JsonSchema for Raison {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Raison".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": Self::MAX,
            "pattern": RAISON_MOTIF,
            "description": "Raison obligatoire : 1 à 500 caractères, au moins un qui ne soit pas un blanc, aucun caractère de contrôle.",
        })
    }
}

impl TryFrom<String> for Raison {
    type Error = ValeurInvalide;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Raison> for String {
    fn from(r: Raison) -> Self {
        r.0
    }
}

impl fmt::Display for Raison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! code {
    ($(#[$doc:meta])* $nom:ident, $genre:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $nom(String);

        impl $nom {
            /// Parses a code: `[a-z][a-z0-9_]*`, 48 characters at most.
            pub fn parse(brut: &str) -> Result<Self, ValeurInvalide> {
                if est_un_code(brut) {
                    Ok(Self(brut.to_owned()))
                } else {
                    Err(ValeurInvalide::Code { genre: $genre, code: tronque(brut) })
                }
            }

            /// The code as written in the catalog.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl schemars::JsonSchema for $nom {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($nom).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": "^[a-z][a-z0-9_]*$",
                    "maxLength": 48,
                    "description": concat!(
                        "Code de ", $genre, " du catalogue : un code bien formé mais absent ",
                        "du catalogue est un refus du jeu."
                    ),
                })
            }
        }

        impl TryFrom<String> for $nom {
            type Error = ValeurInvalide;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$nom> for String {
            fn from(c: $nom) -> Self {
                c.0
            }
        }

        impl FromStr for $nom {
            type Err = ValeurInvalide;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $nom {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn est_un_code(s: &str) -> bool {
    let mut caracteres = s.chars();
    s.len() <= 48
        && caracteres.next().is_some_and(|c| c.is_ascii_lowercase())
        && caracteres.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

code!(
    /// An item of the catalog (`epee_en_fer`).
    CodeItem,
    "item"
);
code!(
    /// A monster of the catalog (`loup`).
    CodeMonstre,
    "monstre"
);
code!(
    /// An encounter: a group of monsters in a zone (`meute_de_loups`).
    CodeRencontre,
    "rencontre"
);
code!(
    /// A zone of the world (`plaine_verte`).
    CodeZone,
    "zone"
);
code!(
    /// A crafting recipe (`lingot_de_fer`).
    CodeRecette,
    "recette"
);
code!(
    /// A merchant (`forgeron_brunehilde`).
    CodeMarchand,
    "marchand"
);
code!(
    /// A quest of the catalog (`chasse_aux_loups`).
    CodeQuete,
    "quête"
);

/// The three roles of the game.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    schemars::JsonSchema,
)]
pub enum Classe {
    /// Takes the hits: high HP and defense, generates more threat.
    Tank,
    /// Deals the damage.
    #[serde(rename = "DPS")]
    Dps,
    /// Keeps the party alive.
    Heal,
}

impl Classe {
    /// The name as players write it.
    pub const fn nom(self) -> &'static str {
        match self {
            Self::Tank => "Tank",
            Self::Dps => "DPS",
            Self::Heal => "Heal",
        }
    }
}

impl FromStr for Classe {
    type Err = ValeurInvalide;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Tank" => Ok(Self::Tank),
            "DPS" => Ok(Self::Dps),
            "Heal" => Ok(Self::Heal),
            autre => Err(ValeurInvalide::Classe(tronque(autre))),
        }
    }
}

impl fmt::Display for Classe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.nom())
    }
}

/// A character level, from 1 to the catalog's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Niveau(u8);

impl Niveau {
    /// Level 1, where every character starts.
    pub const UN: Self = Self(1);

    /// Parses a level; the cap is checked against the catalog by whoever knows it.
    pub fn parse(n: u32) -> Result<Self, ValeurInvalide> {
        match u8::try_from(n) {
            Ok(v) if v >= 1 => Ok(Self(v)),
            _ => Err(ValeurInvalide::Niveau(n)),
        }
    }

    /// The level as a number.
    pub const fn valeur(self) -> u32 {
        self.0 as u32
    }
}

impl schemars::JsonSchema for Niveau {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Niveau".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": 255 })
    }
}

impl TryFrom<u32> for Niveau {
    type Error = ValeurInvalide;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Self::parse(n)
    }
}

impl From<Niveau> for u32 {
    fn from(n: Niveau) -> Self {
        n.valeur()
    }
}

impl fmt::Display for Niveau {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A character's combat statistics at a given class and level (from the catalog).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stats {
    /// Maximum hit points.
    pub pv_max: u32,
    /// Attack power.
    pub attaque: u32,
    /// Defense: reduces the damage taken.
    pub defense: u32,
    /// Healing power (0: cannot heal).
    pub soin: u32,
}

/// An amount of gold. Never negative by construction: subtraction is checked.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Or(u64);

impl Or {
    /// No gold.
    pub const ZERO: Self = Self(0);

    /// An amount of gold pieces.
    pub const fn new(pieces: u64) -> Self {
        Self(pieces)
    }

    /// The number of gold pieces.
    pub const fn pieces(self) -> u64 {
        self.0
    }

    /// Sum, or `None` on overflow.
    pub const fn checked_add(self, autre: Self) -> Option<Self> {
        match self.0.checked_add(autre.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// Difference, or `None` if it would go below zero.
    pub const fn checked_sub(self, autre: Self) -> Option<Self> {
        match self.0.checked_sub(autre.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// Product by a quantity, or `None` on overflow.
    pub const fn checked_mul(self, n: u32) -> Option<Self> {
        match self.0.checked_mul(n as u64) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// True when there is no gold.
    pub const fn est_nul(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Or {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} po", self.0)
    }
}

/// A number of items moved by one operation: at least 1, at most [`Quantite::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u32")]
pub struct Quantite(u32);

impl Quantite {
    /// The most one operation may move.
    pub const MAX: u32 = 9_999;
    /// One item.
    pub const UN: Self = Self(1);

    /// Parses a quantity.
    pub fn parse(n: u64) -> Result<Self, ValeurInvalide> {
        match u32::try_from(n) {
            Ok(v) if (1..=Self::MAX).contains(&v) => Ok(Self(v)),
            _ => Err(ValeurInvalide::Quantite(n)),
        }
    }

    /// The count.
    pub const fn valeur(self) -> u32 {
        self.0
    }
}

impl schemars::JsonSchema for Quantite {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantite".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": Self::MAX })
    }
}

impl TryFrom<u64> for Quantite {
    type Error = ValeurInvalide;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        Self::parse(n)
    }
}

impl From<Quantite> for u32 {
    fn from(q: Quantite) -> Self {
        q.0
    }
}

impl fmt::Display for Quantite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A point in a zone, in metres. Bounds belong to the zone (Service Monde).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PositionBrute")]
pub struct Position {
    x: f64,
    y: f64,
}

#[derive(Deserialize)]
struct PositionBrute {
    x: f64,
    y: f64,
}

impl schemars::JsonSchema for Position {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Position".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "properties": { "x": { "type": "number" }, "y": { "type": "number" } },
            "required": ["x", "y"],
            "additionalProperties": false,
            "description": "Un point d'une zone, en mètres.",
        })
    }
}

impl TryFrom<PositionBrute> for Position {
    type Error = ValeurInvalide;
    fn try_from(p: PositionBrute) -> Result<Self, Self::Error> {
        Self::parse(p.x, p.y)
    }
}

impl Position {
    /// Parses a position: both coordinates finite.
    pub fn parse(x: f64, y: f64) -> Result<Self, ValeurInvalide> {
        if x.is_finite() && y.is_finite() {
            Ok(Self { x, y })
        } else {
            Err(ValeurInvalide::Position { x, y })
        }
    }

    /// Abscissa.
    pub const fn x(self) -> f64 {
        self.x
    }

    /// Ordinate.
    pub const fn y(self) -> f64 {
        self.y
    }

    /// Straight-line distance to another point.
    pub fn distance(self, autre: Self) -> f64 {
        (self.x - autre.x).hypot(self.y - autre.y)
    }
}

/// The seed a combat rolls all its dice from. Chosen by the caller (the command side draws it at
/// random), stored in the first event, so that every roll can be replayed and audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Graine(u64);

impl Graine {
    /// Wraps a seed.
    pub const fn new(valeur: u64) -> Self {
        Self(valeur)
    }

    /// The raw seed.
    pub const fn valeur(self) -> u64 {
        self.0
    }
}

/// A point in time, given to the domain by the caller (the domain never reads the clock).
pub type Horodatage = chrono::DateTime<chrono::Utc>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn une_raison_vide_trop_longue_ou_avec_un_caractere_de_controle_est_refusee() {
        assert_eq!(
            Raison::parse("  triche avérée ").map(|r| r.as_str().to_owned()),
            Ok("triche avérée".to_owned())
        );
        for brute in ["", "   ", "\t\n", "a\u{0}b", "ligne\nsuivante"] {
            assert!(Raison::parse(brute).is_err(), "{brute:?}");
        }
        assert!(Raison::parse(&"é".repeat(Raison::MAX)).is_ok());
        assert!(Raison::parse(&"é".repeat(Raison::MAX + 1)).is_err());
        let lue: Result<Raison, _> = serde_json::from_str("\" \"");
        assert!(lue.is_err(), "serde passe par le même contrôle");
    }

    #[test]
    fn un_nom_valide_est_accepte_et_ses_blancs_retires() {
        let nom = NomJoueur::parse("  Éloïse-2 ").expect("nom valide");
        assert_eq!(nom.as_str(), "Éloïse-2");
        assert_eq!(nom.cle(), "éloïse-2");
    }

    #[test]
    fn un_nom_trop_court_trop_long_ou_mal_forme_est_refuse() {
        for mauvais in [
            "ab",
            "",
            "   ",
            "abcdefghijklmnopq",
            "1abc",
            "-abc",
            "a b c",
            "ab\u{0}c",
            "abc!",
        ] {
            assert!(
                NomJoueur::parse(mauvais).is_err(),
                "{mauvais:?} devrait être refusé"
            );
        }
    }

    #[test]
    fn un_nom_se_relit_par_serde_en_passant_par_le_meme_controle() {
        assert!(serde_json::from_str::<NomJoueur>("\"x\"").is_err());
        let nom: NomJoueur = serde_json::from_str("\"Gimli\"").expect("nom valide");
        assert_eq!(nom.as_str(), "Gimli");
    }

    #[test]
    fn un_code_de_catalogue_est_en_minuscules_ascii() {
        assert!(CodeItem::parse("epee_en_fer").is_ok());
        for mauvais in ["", "Epee", "épée", "1epee", "epee-fer", &"a".repeat(49)] {
            assert!(
                CodeItem::parse(mauvais).is_err(),
                "{mauvais:?} devrait être refusé"
            );
        }
    }

    #[test]
    fn les_classes_se_lisent_comme_les_joueurs_les_ecrivent() {
        assert_eq!("DPS".parse::<Classe>(), Ok(Classe::Dps));
        assert_eq!(
            serde_json::to_string(&Classe::Dps).expect("json"),
            "\"DPS\""
        );
        assert!("dps".parse::<Classe>().is_err());
    }

    #[test]
    fn le_niveau_zero_nexiste_pas() {
        assert!(Niveau::parse(0).is_err());
        assert!(Niveau::parse(256).is_err());
        assert_eq!(Niveau::parse(3).map(Niveau::valeur), Ok(3));
    }

    #[test]
    fn lor_ne_passe_jamais_sous_zero() {
        assert_eq!(Or::new(5).checked_sub(Or::new(6)), None);
        assert_eq!(Or::new(5).checked_sub(Or::new(5)), Some(Or::ZERO));
        assert_eq!(Or::new(u64::MAX).checked_add(Or::new(1)), None);
    }

    #[test]
    fn une_quantite_est_entre_un_et_le_maximum() {
        assert!(Quantite::parse(0).is_err());
        assert!(Quantite::parse(u64::from(Quantite::MAX) + 1).is_err());
        assert!(serde_json::from_str::<Quantite>("-1").is_err());
        assert_eq!(
            serde_json::from_str::<Quantite>("7")
                .map(Quantite::valeur)
                .ok(),
            Some(7)
        );
    }

    #[test]
    fn une_position_doit_etre_finie() {
        assert!(Position::parse(f64::NAN, 0.0).is_err());
        assert!(Position::parse(0.0, f64::INFINITY).is_err());
        let p = Position::parse(3.0, 4.0).expect("finie");
        assert!((p.distance(Position::parse(0.0, 0.0).expect("finie")) - 5.0).abs() < 1e-9);
        assert!(serde_json::from_str::<Position>(r#"{"x":1e999,"y":0}"#).is_err());
    }
}
