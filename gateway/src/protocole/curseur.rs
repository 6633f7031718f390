//! The cursor: an event's place in the store's global order, as clients see it
//! (`"<transaction>.<position>"`), on every pushed event and in `evenements.depuis`, in every
//! command's answer (where its last event stands) and in the reads' `a_jour_de` (the position
//! a read must reflect).

use std::borrow::Cow;

use magasin::lecteur::PositionGlobale;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The pattern of a cursor, for the schemas.
pub const MOTIF: &str = r"^[0-9]{1,18}\.[0-9]{1,18}$";

/// A cursor, read (parse, don't validate) or to be written: a place in the global order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Curseur(pub PositionGlobale);

impl Serialize for Curseur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&curseur(self.0))
    }
}

impl<'de> Deserialize<'de> for Curseur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let texte = Cow::<str>::deserialize(d)?;
        lire_curseur(&texte).map(Self).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "curseur illisible « {texte} » : il s'écrit \"<transaction>.<position>\""
            ))
        })
    }
}

impl schemars::JsonSchema for Curseur {
    fn schema_name() -> Cow<'static, str> {
        "Curseur".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": MOTIF,
            "description": "Une place dans l'ordre global du magasin : \"<transaction>.<position>\" (protocole.md §6.2).",
        })
    }
}

/// A cursor as clients see it: `"<transaction>.<position>"`.
pub fn curseur(p: PositionGlobale) -> String {
    format!("{}.{}", p.transaction, p.position)
}

/// Reads a cursor.
pub fn lire_curseur(texte: &str) -> Option<PositionGlobale> {
    let (t, p) = texte.split_once('.')?;
    let position = PositionGlobale {
        transaction: t.parse().ok()?,
        position: p.parse().ok()?,
    };
    (position.transaction >= 0 && position.position >= 0).then_some(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_curseur_se_relit() {
        let p = PositionGlobale {
            transaction: 812,
            position: 45,
        };
        assert_eq!(lire_curseur(&curseur(p)), Some(p));
        assert_eq!(lire_curseur("0.0"), Some(PositionGlobale::DEBUT));
        for mauvais in ["", "12", "a.b", "-1.3", "1.2.3", "99999999999999999999.1"] {
            assert_eq!(lire_curseur(mauvais), None, "{mauvais}");
        }
    }

    #[test]
    fn un_curseur_va_et_vient_en_json_et_un_curseur_illisible_dit_sa_forme() {
        let c: Curseur = serde_json::from_str("\"812.45\"").expect("lisible");
        assert_eq!(
            c.0,
            PositionGlobale {
                transaction: 812,
                position: 45
            }
        );
        assert_eq!(serde_json::to_string(&c).expect("json"), "\"812.45\"");
        let e = serde_json::from_str::<Curseur>("\"812\"").expect_err("illisible");
        assert!(e.to_string().contains("<transaction>.<position>"), "{e}");
        assert!(serde_json::from_str::<Curseur>("812.45").is_err());
    }
}
