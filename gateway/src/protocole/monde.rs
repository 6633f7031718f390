//! Monde's pushes on the wire: `monde.deplacements` (a cell's moves of a tick),
//! `monde.apparitions` and `monde.disparitions` (who entered and left a character's interest
//! area). The types are what the fan-out builds and what the OpenRPC document describes, so
//! the two cannot disagree (doc/protocole.md §4.7).

use commands::services::monde::Visible;
use domain::ids::JoueurId;
use domain::valeurs::{CodeZone, Position};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A character as those who see it are told: who, its name, where; and its class when it
/// enters an area (absent from a move within the same cell, and absent or `null` while the
/// read side has not yet seen the character created).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Apercu {
    /// Who.
    pub joueur_id: JoueurId,
    /// Its name.
    pub nom: String,
    /// Its zone.
    pub zone: CodeZone,
    /// Where it stands.
    pub position: Position,
    /// Its class, when it enters the area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classe: Option<String>,
}

impl From<Visible> for Apercu {
    fn from(v: Visible) -> Self {
        Self {
            joueur_id: v.joueur_id,
            nom: v.nom,
            zone: v.zone,
            position: v.position,
            classe: v.classe,
        }
    }
}

/// `monde.deplacements`: the latest positions of the characters that moved in the interest
/// area of one character of the account (`joueur_id`, the one who sees them) during a tick;
/// at most one per character and tick.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LotDeplacements {
    /// The character who sees them.
    pub joueur_id: JoueurId,
    /// Its zone.
    pub zone: CodeZone,
    /// Who moved, and where to, in the order the moves were made (a character listed twice:
    /// the later entry is its position).
    pub deplacements: Vec<Apercu>,
}

/// `monde.apparitions`: characters that entered the interest area of one character of the
/// account (`joueur_id`, the one who sees them).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Apparitions {
    /// The character who now sees them.
    pub joueur_id: JoueurId,
    /// Its zone.
    pub zone: CodeZone,
    /// Who appeared.
    pub apparitions: Vec<Apercu>,
}

/// `monde.disparitions`: characters that left the interest area of one character of the
/// account (`joueur_id`), or the zone it left.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Disparitions {
    /// The character who no longer sees them.
    pub joueur_id: JoueurId,
    /// The zone they are no longer seen in.
    pub zone: CodeZone,
    /// Who disappeared.
    pub disparitions: Vec<JoueurId>,
}
