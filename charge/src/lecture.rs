//! Reading what the server sends, cheaply: at thousands of sockets the server pushes hundreds
//! of thousands of positions a second to this tool, on the same machine, so a message is
//! first read as an [`Entete`] — its method borrowed from the text, and the number of entries
//! of `params.deplacements` counted while skipping them — without building a
//! `serde_json::Value`. Only answers, and the pushes of the few sockets whose picture of
//! their neighbours is checked, are read whole. A frame may carry several pushes, grouped in
//! a JSON array (doc/protocole.md, « Notifications groupées »): [`poussees`] reads them all.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

/// What the tool needs of every message: a push's method and, for `monde.deplacements`, how
/// many positions it carries. An answer has no method.
#[derive(Debug, Deserialize)]
pub(crate) struct Entete<'a> {
    /// The push's method (`None`: an answer).
    #[serde(borrow, default)]
    pub(crate) method: Option<&'a str>,
    #[serde(default)]
    params: Option<Parametres>,
}

/// The pushes a frame carries (one, or several grouped in a JSON array), each read as an
/// [`Entete`]; `None` for an answer (or what cannot be read this way), to be read whole.
pub(crate) fn poussees(texte: &str) -> Option<Vec<Entete<'_>>> {
    let poussees = if texte.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<Entete<'_>>>(texte).ok()?
    } else {
        vec![Entete::lire(texte)?]
    };
    (!poussees.is_empty() && poussees.iter().all(|e| e.method.is_some())).then_some(poussees)
}

impl Entete<'_> {
    /// Reads a message's method and counts its positions; `None` if it is not a JSON-RPC
    /// object this way (it is then read whole).
    pub(crate) fn lire(texte: &str) -> Option<Entete<'_>> {
        serde_json::from_str(texte).ok()
    }

    /// The entries of `params.deplacements` (0 when there is none).
    pub(crate) fn positions(&self) -> u64 {
        self.params.as_ref().map_or(0, |p| p.deplacements.0)
    }
}

/// A push's params, of which only the length of `deplacements` is kept (anything else is
/// skipped, whatever the shape: the batch's zone and cell today, the watcher tomorrow).
#[derive(Debug, Default, Deserialize)]
struct Parametres {
    #[serde(default)]
    deplacements: Nombre,
}

/// The length of a JSON array, its elements skipped unread.
#[derive(Debug, Default)]
struct Nombre(u64);

impl<'de> Deserialize<'de> for Nombre {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Compteur;
        impl<'de> Visitor<'de> for Compteur {
            type Value = Nombre;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("un tableau")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Nombre, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Nombre(n))
            }
        }
        d.deserialize_seq(Compteur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_lot_de_deplacements_se_compte_sans_etre_lu_en_entier() {
        // Today's shape (the batch's zone and cell) and the coming one (the watcher's id,
        // no cell): only the entries count.
        for texte in [
            r#"{"jsonrpc":"2.0","method":"monde.deplacements","params":{"cellule":"2_2","deplacements":[{"joueur_id":"a","nom":"A","position":{"x":1.0,"y":2.0},"zone":"z"},{"classe":"DPS","joueur_id":"b","nom":"B\"é","position":{"x":3.0,"y":4.0},"zone":"z"}],"zone":"z"}}"#,
            r#"{"method":"monde.deplacements","jsonrpc":"2.0","params":{"joueur_id":"w","zone":"z","deplacements":[{"joueur_id":"a","position":{"x":1,"y":2}},{"joueur_id":"b","position":{"x":3,"y":4}}]}}"#,
        ] {
            let e = Entete::lire(texte).expect("lisible");
            assert_eq!(e.method, Some("monde.deplacements"));
            assert_eq!(e.positions(), 2, "{texte}");
        }
    }

    #[test]
    fn des_poussees_groupees_se_lisent_toutes_et_une_reponse_n_en_est_pas() {
        let trame = r#"[{"jsonrpc":"2.0","method":"chat.message","params":{"texte":"[{\"x"}},{"jsonrpc":"2.0","method":"monde.deplacements","params":{"joueur_id":"w","zone":"z","deplacements":[{"joueur_id":"a","position":{"x":1,"y":2}}]}}]"#;
        let p = poussees(trame).expect("des poussées");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].method, Some("chat.message"));
        assert_eq!(p[1].positions(), 1);
        let seule = r#"{"jsonrpc":"2.0","method":"monde.apparitions","params":{}}"#;
        assert_eq!(poussees(seule).expect("une").len(), 1);
        assert!(poussees(r#"{"id":1,"jsonrpc":"2.0","result":{}}"#).is_none());
        assert!(
            poussees(r#"[{"id":1,"jsonrpc":"2.0","result":{}}]"#).is_none(),
            "réponse à un lot"
        );
    }

    #[test]
    fn une_autre_pousse_n_a_pas_de_positions_et_une_reponse_pas_de_methode() {
        let chat = Entete::lire(
            r#"{"jsonrpc":"2.0","method":"chat.message","params":{"canal":{"type":"zone"},"texte":"a\nb"}}"#,
        )
        .expect("lisible");
        assert_eq!(chat.method, Some("chat.message"));
        assert_eq!(chat.positions(), 0);
        let reponse = Entete::lire(
            r#"{"id":7,"jsonrpc":"2.0","result":{"presents":[{"joueur_id":"a"}],"deplacements":3}}"#,
        )
        .expect("lisible");
        assert_eq!(reponse.method, None);
        let erreur = Entete::lire(
            r#"{"error":{"code":-32010,"data":{"code":"TROP_RAPIDE","position":{"x":1.0,"y":2.0}}},"id":8,"jsonrpc":"2.0"}"#,
        )
        .expect("lisible");
        assert_eq!(erreur.method, None);
        assert!(Entete::lire("pas du json").is_none());
    }
}
