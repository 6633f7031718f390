//! The game catalog: classes, XP curve, monsters, zones, encounters, items, recipes, merchants
//! and quests. It lives in a TOML file (`domain/catalogue.toml`), is parsed into typed values
//! and then checked as a whole ([`validation`]): a [`Catalogue`] that exists is consistent, so the
//! aggregates look entries up without re-checking them.
//!
//! The catalog is the aggregates' only service: every rule that needs game data reads it here.

#[cfg(test)]
mod tests;
mod validation;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::valeurs::{
    Classe, CodeItem, CodeMarchand, CodeMonstre, CodeQuete, CodeRecette, CodeRencontre, CodeZone,
    Niveau, Or, Position, Quantite, Stats,
};

pub use validation::ErreurCatalogue;

/// The catalog shipped with the game.
const CATALOGUE_OFFICIEL: &str = include_str!("../../catalogue.toml");

/// The whole game data, validated. Only [`Catalogue::depuis_toml`] makes one, so holding a
/// `Catalogue` means holding a consistent one.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    d: Donnees,
}

/// The catalog's fields as parsed, before the whole-catalog checks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Donnees {
    regles: Regles,
    deplacement: RegleDeplacement,
    classes: BTreeMap<Classe, DefClasse>,
    progression: Progression,
    monstres: BTreeMap<CodeMonstre, DefMonstre>,
    zones: BTreeMap<CodeZone, DefZone>,
    rencontres: BTreeMap<CodeRencontre, DefRencontre>,
    items: BTreeMap<CodeItem, DefItem>,
    recettes: BTreeMap<CodeRecette, DefRecette>,
    marchands: BTreeMap<CodeMarchand, DefMarchand>,
    quetes: BTreeMap<CodeQuete, DefQuete>,
}

/// Rules of the game that are numbers rather than entries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regles {
    /// The highest level a character can reach.
    pub niveau_max: Niveau,
    /// At most this many characters in one combat.
    pub taille_groupe_max: u32,
    /// At most this many characters per account (checked by Service Joueur).
    pub personnages_par_compte: u32,
    /// Inventory slots; a slot holds one stack of up to the item's `pile_max`.
    pub capacite_inventaire: u32,
    /// Where new characters appear.
    pub zone_depart: CodeZone,
    /// Gold of a new character.
    pub or_depart: Or,
    /// Items of a new character.
    pub kit_depart: Vec<LigneItem>,
    /// A combat still running after this many rounds is lost.
    pub tours_max: u32,
    /// Seconds a round waits for every living participant before the monsters act anyway.
    pub duree_tour_secondes: u32,
    /// How far a character surely sees the others move, in metres (doc/monde_chat.md,
    /// « Intérêt »).
    #[serde(default = "rayon_interet_par_defaut")]
    pub rayon_interet: f64,
    /// The side of the square cells zones are cut into, in metres, at least `rayon_interet`:
    /// a character sees its cell and the eight around it.
    #[serde(default = "rayon_interet_par_defaut")]
    pub cellule_interet: f64,
}

fn rayon_interet_par_defaut() -> f64 {
    50.0
}

/// The rules of moving (`[deplacement]`): how fast, how long a burst, how close to a portal.
/// Each character has a distance budget that refills at [`vitesse_max`](Self::vitesse_max) up
/// to [`plafond`](Self::plafond) and that each accepted step spends (`domain::monde`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegleDeplacement {
    /// The fastest a character may go, in metres per second: the budget's refill rate. Above
    /// the client's own pace, by a margin for clocks that drift.
    pub vitesse_max: f64,
    /// How long a run at full speed the budget holds when full, in milliseconds: what a
    /// character idle for a while may cover at once.
    pub rafale_ms: u32,
    /// Added to the burst, in milliseconds: network jitter can deliver steps sent apart in
    /// the same instant, and they must not look like a sprint.
    pub gigue_ms: u32,
    /// How close to a portal a character must stand to go through it, in metres.
    pub rayon_portail: f64,
}

impl RegleDeplacement {
    /// The most the budget holds, in metres: a burst plus the jitter, at full speed.
    pub fn plafond(&self) -> f64 {
        self.vitesse_max * f64::from(self.rafale_ms + self.gigue_ms) / 1000.0
    }
}

/// A stat that grows linearly with level: `base + par_niveau × (niveau − 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Croissance {
    /// Value at level 1.
    pub base: u32,
    /// Added at each level.
    pub par_niveau: u32,
}

impl Croissance {
    fn au_niveau(self, niveau: Niveau) -> u32 {
        self.base + self.par_niveau * (niveau.valeur() - 1)
    }
}

/// A class: its stats by level and its combat traits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefClasse {
    /// One line for the class choice screen.
    pub description: String,
    /// Hit points.
    pub pv: Croissance,
    /// Attack power.
    pub attaque: Croissance,
    /// Defense.
    pub defense: Croissance,
    /// Healing power (0 at every level: the class cannot heal).
    pub soin: Croissance,
    /// Threat generated per point of damage, in percent.
    pub menace_pct: u32,
    /// Chance of a critical hit (×1.5 damage), in percent.
    pub critique_pct: u32,
}

impl DefClasse {
    /// The class's stats at a level.
    pub fn stats(&self, niveau: Niveau) -> Stats {
        Stats {
            pv_max: self.pv.au_niveau(niveau),
            attaque: self.attaque.au_niveau(niveau),
            defense: self.defense.au_niveau(niveau),
            soin: self.soin.au_niveau(niveau),
        }
    }
}

/// The XP curve.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progression {
    /// `xp_cumulee[i]` is the total XP needed to reach level `i + 2`.
    pub xp_cumulee: Vec<u64>,
}

/// A range of values, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fourchette {
    /// Lowest value.
    pub min: u32,
    /// Highest value.
    pub max: u32,
}

/// One line of a monster's loot table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LigneButin {
    /// The item that may drop.
    pub item: CodeItem,
    /// Chance, in percent, that it drops for each participant.
    pub chance_pct: u32,
    /// How many when it drops.
    pub quantite: Fourchette,
}

/// An attack that hits every participant at once, every few rounds (bosses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrappeDeZone {
    /// It comes on rounds that are multiples of this.
    pub tous_les_n_tours: u32,
    /// Its power, in percent of the monster's attack.
    pub puissance_pct: u32,
}

/// A monster.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefMonstre {
    /// Display name.
    pub nom: String,
    /// Its level.
    pub niveau: Niveau,
    /// Hit points.
    pub pv: u32,
    /// Attack power.
    pub attaque: u32,
    /// Defense.
    pub defense: u32,
    /// XP it gives each participant of a victory.
    pub xp: u32,
    /// Gold it gives each participant of a victory.
    pub or: Fourchette,
    /// What it may drop.
    #[serde(default)]
    pub butin: Vec<LigneButin>,
    /// A boss is the point of a dungeon.
    #[serde(default)]
    pub boss: bool,
    /// Its area attack, if any.
    #[serde(default)]
    pub frappe_de_zone: Option<FrappeDeZone>,
}

/// A passage from one zone to another.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portail {
    /// Where it leads.
    pub vers: CodeZone,
    /// Where it stands in its zone.
    pub position: Position,
    /// Where it puts the traveller in the destination zone.
    pub arrivee: Position,
    /// The level needed to go through.
    pub niveau_min: Niveau,
}

/// A zone of the world.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefZone {
    /// Display name.
    pub nom: String,
    /// Width, in metres (x from 0 to largeur).
    pub largeur: f64,
    /// Height, in metres (y from 0 to hauteur).
    pub hauteur: f64,
    /// True for an instanced dungeon.
    #[serde(default)]
    pub donjon: bool,
    /// Where newcomers to the zone stand.
    pub depart: Position,
    /// The ways out.
    #[serde(default)]
    pub portails: Vec<Portail>,
}

impl DefZone {
    /// True if the point lies inside the zone.
    pub fn contient(&self, p: Position) -> bool {
        (0.0..=self.largeur).contains(&p.x()) && (0.0..=self.hauteur).contains(&p.y())
    }
}

/// An encounter: monsters to fight in a zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefRencontre {
    /// Display name.
    pub nom: String,
    /// Where it is fought.
    pub zone: CodeZone,
    /// The level a party should have.
    pub niveau: Niveau,
    /// The monsters, in order (a monster code may repeat).
    pub monstres: Vec<CodeMonstre>,
}

/// What an item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenreItem {
    /// Crafting material.
    Materiau,
    /// Potion, food.
    Consommable,
    /// Weapon.
    Arme,
    /// Armour, shield, cloak.
    Armure,
    /// A trophy with no use but its worth.
    Tresor,
}

/// An item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefItem {
    /// Display name.
    pub nom: String,
    /// What it is.
    pub genre: GenreItem,
    /// How many fit in one inventory slot.
    pub pile_max: u32,
}

/// So many of an item.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct LigneItem {
    /// Which item.
    pub item: CodeItem,
    /// How many.
    pub quantite: Quantite,
}

/// A crafting recipe: consumes its ingredients (and gold), produces its product, atomically.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefRecette {
    /// Display name.
    pub nom: String,
    /// What it consumes.
    pub ingredients: Vec<LigneItem>,
    /// What it produces.
    pub produit: LigneItem,
    /// The gold it costs.
    #[serde(default)]
    pub cout: Or,
}

/// What a merchant does with one item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Article {
    /// The item.
    pub item: CodeItem,
    /// The price the merchant sells one at, if it sells it.
    #[serde(default)]
    pub prix_vente: Option<Or>,
    /// The price the merchant buys one at, if it buys it.
    #[serde(default)]
    pub prix_rachat: Option<Or>,
}

/// A merchant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefMarchand {
    /// Display name.
    pub nom: String,
    /// Where the merchant stands.
    pub zone: CodeZone,
    /// What it trades.
    pub articles: Vec<Article>,
}

impl DefMarchand {
    /// The merchant's terms for an item, if it trades it.
    pub fn article(&self, item: &CodeItem) -> Option<&Article> {
        self.articles.iter().find(|a| &a.item == item)
    }
}

/// What a quest asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Objectif {
    /// Defeat so many of a monster (each participant of a victory counts them).
    Vaincre {
        /// Which monster.
        monstre: CodeMonstre,
        /// How many.
        nombre: u32,
    },
    /// Craft so many of an item.
    Fabriquer {
        /// Which item.
        item: CodeItem,
        /// How many.
        nombre: u32,
    },
    /// Reach a level.
    AtteindreNiveau {
        /// Which level.
        niveau: Niveau,
    },
    /// Win so many combats playing a class.
    GagnerCombat {
        /// In which role.
        classe: Classe,
        /// How many.
        nombre: u32,
    },
}

impl Objectif {
    /// The progress at which the quest is done.
    pub fn requis(&self) -> u32 {
        match self {
            Self::Vaincre { nombre, .. }
            | Self::Fabriquer { nombre, .. }
            | Self::GagnerCombat { nombre, .. } => *nombre,
            Self::AtteindreNiveau { niveau } => niveau.valeur(),
        }
    }
}

/// What a completed quest gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecompenseQuete {
    /// XP to the character.
    #[serde(default)]
    pub xp: u32,
    /// Gold to the inventory.
    #[serde(default)]
    pub or: Or,
    /// Items to the inventory.
    #[serde(default)]
    pub items: Vec<LigneItem>,
}

/// A quest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefQuete {
    /// Display name.
    pub nom: String,
    /// What the quest giver says.
    pub description: String,
    /// The level needed to accept it.
    pub niveau_min: Niveau,
    /// Quests that must be completed first.
    #[serde(default)]
    pub prerequis: Vec<CodeQuete>,
    /// What it asks.
    pub objectif: Objectif,
    /// What it gives.
    pub recompense: RecompenseQuete,
}

impl Catalogue {
    /// Parses and validates a catalog written in TOML.
    pub fn depuis_toml(texte: &str) -> Result<Self, ErreurCatalogue> {
        let d: Donnees =
            toml::from_str(texte).map_err(|e| ErreurCatalogue::Syntaxe(e.to_string()))?;
        d.valider()?;
        Ok(Self { d })
    }

    /// The catalog shipped in the repository, parsed once per process.
    pub fn officiel() -> Result<Arc<Self>, ErreurCatalogue> {
        static OFFICIEL: OnceLock<Result<Arc<Catalogue>, ErreurCatalogue>> = OnceLock::new();
        OFFICIEL
            .get_or_init(|| Self::depuis_toml(CATALOGUE_OFFICIEL).map(Arc::new))
            .clone()
    }

    /// The numeric rules.
    pub fn regles(&self) -> &Regles {
        &self.d.regles
    }

    /// The rules of moving.
    pub fn deplacement(&self) -> &RegleDeplacement {
        &self.d.deplacement
    }

    /// A class (all three exist in a valid catalog).
    pub fn classe(&self, classe: Classe) -> &DefClasse {
        &self.d.classes[&classe]
    }

    /// A class's stats at a level.
    pub fn stats(&self, classe: Classe, niveau: Niveau) -> Stats {
        self.classe(classe).stats(niveau)
    }

    /// The total XP needed to reach a level (0 for level 1; `None` beyond the cap).
    pub fn xp_pour_niveau(&self, niveau: Niveau) -> Option<u64> {
        match niveau.valeur() {
            1 => Some(0),
            n => self.d.progression.xp_cumulee.get(n as usize - 2).copied(),
        }
    }

    /// The level a character with this much XP has.
    pub fn niveau_pour_xp(&self, xp: u64) -> Niveau {
        let atteints = self
            .d
            .progression
            .xp_cumulee
            .iter()
            .take_while(|&&seuil| xp >= seuil);
        Niveau::parse(1 + atteints.count() as u32).unwrap_or(Niveau::UN)
    }

    /// Every monster.
    pub fn monstres(&self) -> &BTreeMap<CodeMonstre, DefMonstre> {
        &self.d.monstres
    }

    /// One monster.
    pub fn monstre(&self, code: &CodeMonstre) -> Option<&DefMonstre> {
        self.d.monstres.get(code)
    }

    /// Every zone.
    pub fn zones(&self) -> &BTreeMap<CodeZone, DefZone> {
        &self.d.zones
    }

    /// One zone.
    pub fn zone(&self, code: &CodeZone) -> Option<&DefZone> {
        self.d.zones.get(code)
    }

    /// Every encounter.
    pub fn rencontres(&self) -> &BTreeMap<CodeRencontre, DefRencontre> {
        &self.d.rencontres
    }

    /// One encounter.
    pub fn rencontre(&self, code: &CodeRencontre) -> Option<&DefRencontre> {
        self.d.rencontres.get(code)
    }

    /// Every item.
    pub fn items(&self) -> &BTreeMap<CodeItem, DefItem> {
        &self.d.items
    }

    /// One item.
    pub fn item(&self, code: &CodeItem) -> Option<&DefItem> {
        self.d.items.get(code)
    }

    /// Every recipe.
    pub fn recettes(&self) -> &BTreeMap<CodeRecette, DefRecette> {
        &self.d.recettes
    }

    /// One recipe.
    pub fn recette(&self, code: &CodeRecette) -> Option<&DefRecette> {
        self.d.recettes.get(code)
    }

    /// Every merchant.
    pub fn marchands(&self) -> &BTreeMap<CodeMarchand, DefMarchand> {
        &self.d.marchands
    }

    /// One merchant.
    pub fn marchand(&self, code: &CodeMarchand) -> Option<&DefMarchand> {
        self.d.marchands.get(code)
    }

    /// Every quest.
    pub fn quetes(&self) -> &BTreeMap<CodeQuete, DefQuete> {
        &self.d.quetes
    }

    /// One quest.
    pub fn quete(&self, code: &CodeQuete) -> Option<&DefQuete> {
        self.d.quetes.get(code)
    }
}
