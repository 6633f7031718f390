//! Events as the protocol shows them: in a command's answer, pushed to the sockets, and read
//! back by `evenements.depuis`.

use magasin::lecteur::EvenementStocke;
use serde_json::{Value, json};

use super::curseur::curseur;
use super::enveloppe::en_json;
use super::erreur::ErreurRpc;

/// An event as the protocol shows it: `{"type": "AttaquePortee", "donnees": {...}}` (the
/// store keeps it externally tagged, `{"AttaquePortee": {...}}`).
pub fn evenement_json(valeur: Value) -> Value {
    match valeur {
        Value::Object(m) if m.len() == 1 => {
            let Some((genre, donnees)) = m.into_iter().next() else {
                return Value::Null;
            };
            json!({ "type": genre, "donnees": donnees })
        }
        Value::String(genre) => json!({ "type": genre, "donnees": {} }),
        autre => autre,
    }
}

/// A command's events, for its answer: `{"evenements": [...]}`.
pub fn evenements_json<E: serde::Serialize>(evenements: &[E]) -> Result<Value, ErreurRpc> {
    let liste = evenements
        .iter()
        .map(|e| en_json(e).map(evenement_json))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "evenements": liste }))
}

/// An event as pushed and as `evenements.depuis` returns it.
pub fn evenement_pousse(e: &EvenementStocke) -> Value {
    let mut corps = evenement_json(e.payload.clone());
    if let Value::Object(m) = &mut corps {
        m.insert("curseur".into(), json!(curseur(e.position())));
        m.insert("agregat".into(), json!(e.aggregate_type));
        m.insert("id".into(), json!(e.aggregate_id));
        m.insert("sequence".into(), json!(e.sequence));
        m.insert("correlation_id".into(), json!(e.correlation_id));
        m.insert("horodatage".into(), json!(e.recorded_at));
    }
    corps
}
