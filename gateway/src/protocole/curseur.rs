//! The cursor: an event's place in the store's global order, as clients see it
//! (`"<transaction>.<position>"`), on every pushed event and in `evenements.depuis`.

use magasin::lecteur::PositionGlobale;

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
}
