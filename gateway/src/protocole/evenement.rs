//! Events as the protocol shows them: in a command's answer, pushed to the sockets, and read
//! back by `evenements.depuis`.

use magasin::lecteur::EvenementStocke;
use serde_json::{Value, json};

use super::curseur::{Curseur, curseur};
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

/// A command's answer: the events the aggregate it aimed at produced, in order, each as
/// [`evenement_json`] shows it, and the cursor of the last event the command wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evenements {
    /// `{"type": <event>, "donnees": {...}}`, in order.
    pub evenements: Vec<Value>,
    /// Where the last event the command wrote stands in the global order (its first
    /// application's, for a replay); `null` if it wrote nothing. A read given it as
    /// `a_jour_de` reflects the command.
    pub curseur: Option<Curseur>,
}

impl schemars::JsonSchema for Evenements {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Evenements".into()
    }

    fn json_schema(generateur: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let evenement = generateur.subschema_for::<EvenementRepondu>();
        let curseur = generateur.subschema_for::<Option<Curseur>>();
        schemars::json_schema!({
            "type": "object",
            "properties": {
                "evenements": { "type": "array", "items": evenement },
                "curseur": curseur,
            },
            "required": ["evenements", "curseur"],
            "additionalProperties": false,
        })
    }
}

/// The schema of one event in a command's answer: its type, one of the aggregates' event
/// names (the enums' own variant names), and its fields (agregats.md gives each event's).
struct EvenementRepondu;

impl schemars::JsonSchema for EvenementRepondu {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EvenementRepondu".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "properties": {
                "type": { "type": "string", "enum": noms_d_evenements() },
                "donnees": { "type": "object" },
            },
            "required": ["type", "donnees"],
            "additionalProperties": false,
        })
    }
}

/// Every event type of the five aggregates, as the store and the protocol name them.
pub fn noms_d_evenements() -> Vec<&'static str> {
    use strum::VariantNames;
    [
        domain::joueur::EvenementJoueur::VARIANTS,
        domain::inventaire::EvenementInventaire::VARIANTS,
        domain::quete::EvenementQuete::VARIANTS,
        domain::combat::EvenementCombat::VARIANTS,
        domain::echange::EvenementEchange::VARIANTS,
    ]
    .concat()
}

/// A command's events and the cursor of its last write, for its answer.
pub fn evenements_json<E: serde::Serialize>(
    evenements: &[E],
    curseur: Option<Curseur>,
) -> Result<Evenements, ErreurRpc> {
    let evenements = evenements
        .iter()
        .map(|e| en_json(e).map(evenement_json))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Evenements {
        evenements,
        curseur,
    })
}

/// An event as pushed (`evenement`) and as `evenements.depuis` returns it: the event with its
/// place in its stream and in the global order, and where it came from. Fields in alphabetical
/// order, as every answer is written.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct EvenementPousse {
    /// `Joueur`, `Inventaire`, `Quete`, `Combat` or `Echange`.
    pub agregat: String,
    /// The request that caused it.
    pub correlation_id: Option<uuid::Uuid>,
    /// Its place in the global order (`"<transaction>.<position>"`).
    pub curseur: String,
    /// Its fields.
    pub donnees: Value,
    /// When it was written.
    pub horodatage: chrono::DateTime<chrono::Utc>,
    /// The aggregate's id: a `joueur_id`, `"<joueur_id>:<quete>"`, a `combat_id`, an
    /// `echange_id`.
    pub id: String,
    /// Its place in its aggregate's stream: 1, 2, 3... without a gap.
    pub sequence: i64,
    /// The event's name.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = noms_d_evenements()))]
    pub genre: String,
}

/// An event of the store as the protocol pushes it.
pub fn evenement_pousse(e: &EvenementStocke) -> EvenementPousse {
    let (genre, donnees) = match evenement_json(e.payload.clone()) {
        Value::Object(mut m) => (
            m.remove("type")
                .and_then(|t| t.as_str().map(str::to_owned))
                .unwrap_or_else(|| e.event_type.clone()),
            m.remove("donnees").unwrap_or(Value::Null),
        ),
        autre => (e.event_type.clone(), autre),
    };
    EvenementPousse {
        agregat: e.aggregate_type.clone(),
        correlation_id: e.correlation_id,
        curseur: curseur(e.position()),
        donnees,
        horodatage: e.recorded_at,
        id: e.aggregate_id.clone(),
        sequence: e.sequence,
        genre,
    }
}
