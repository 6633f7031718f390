//! `evenements.depuis`: what a client missed while it was away, from the cursor of the last
//! event it saw.

use magasin::lecteur::{lire_apres, tete};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::appelant::Appelant;
use crate::fil::Concernes;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, EvenementPousse, curseur, evenement_pousse, lire_curseur};

/// Events of the store read per call, at most (those of other accounts included): a call
/// costs a bounded amount whatever the gap.
const LUS_MAX: i64 = 2_000;

/// `evenements.depuis`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Depuis {
    /// The cursor of the last event seen (`"0.0"`: from the beginning; absent: now).
    #[schemars(regex(pattern = r"^[0-9]{1,18}\.[0-9]{1,18}$"))]
    curseur: Option<String>,
    /// At most this many events in the answer, 1 to 500 (default 200).
    #[serde(default = "deux_cents")]
    #[schemars(range(min = 1, max = 500))]
    limite: usize,
}

fn deux_cents() -> usize {
    200
}

/// `evenements.depuis`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Rattrapage {
    /// The caller's events after the cursor, in order.
    pub evenements: Vec<EvenementPousse>,
    /// Where to go on from.
    pub curseur: String,
    /// Nothing after it: live pushes take over.
    pub a_jour: bool,
}

/// The caller's events after a cursor, in order, with the cursor to continue from and whether
/// the caller is now up to date (`a_jour`: then live pushes take over).
pub async fn depuis(
    passerelle: &Passerelle,
    a: Appelant,
    p: Depuis,
) -> Result<Rattrapage, ErreurRpc> {
    if !(1..=500).contains(&p.limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 500"));
    }
    let Some(texte) = p.curseur else {
        let maintenant = tete(&passerelle.pool).await?;
        return Ok(Rattrapage {
            evenements: Vec::new(),
            curseur: curseur(maintenant),
            a_jour: true,
        });
    };
    let mut position = lire_curseur(&texte)
        .ok_or_else(|| ErreurRpc::parametres(&"`curseur` s'écrit \"<transaction>.<position>\""))?;
    let compte = a.compte_id.uuid();
    let mut concernes = Concernes::new(passerelle.pool.clone());
    let mut trouves = Vec::new();
    let lot = lire_apres(&passerelle.pool, position, LUS_MAX).await?;
    let mut a_jour = i64::try_from(lot.len()).is_ok_and(|n| n < LUS_MAX);
    for e in &lot {
        if concernes
            .comptes(&passerelle.depot, e)
            .await?
            .contains(&compte)
        {
            if trouves.len() == p.limite {
                a_jour = false;
                break;
            }
            trouves.push(evenement_pousse(e));
        }
        position = e.position();
    }
    Ok(Rattrapage {
        evenements: trouves,
        curseur: curseur(position),
        a_jour,
    })
}
