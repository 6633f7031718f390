//! `joueurs`: a character's profile (class, level, XP, stats, combat), and through its index the
//! leaderboard.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate as _;
use domain::joueur::{EvenementJoueur, Joueur};
use magasin::lecteur::EvenementStocke;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ecrire, entier, evenements, lire_par_id, uuid};
use crate::ErreurProjection;

/// A row of `joueurs`.
#[derive(Debug, Serialize, Deserialize)]
struct Ligne {
    joueur_id: Uuid,
    compte_id: Uuid,
    nom: String,
    classe: String,
    niveau: i32,
    xp: i64,
    pv_max: i32,
    attaque: i32,
    defense: i32,
    soin: i32,
    combat_id: Option<Uuid>,
    version: i64,
    maj: DateTime<Utc>,
}

const COLONNES: &[&str] = &[
    "compte_id",
    "nom",
    "classe",
    "niveau",
    "xp",
    "pv_max",
    "attaque",
    "defense",
    "soin",
    "combat_id",
    "version",
    "maj",
];

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    lot: &[EvenementStocke],
) -> Result<(), ErreurProjection> {
    let evenements = evenements::<EvenementJoueur>(lot, Joueur::TYPE)?;
    if evenements.is_empty() {
        return Ok(());
    }
    let mut ids = BTreeSet::new();
    for (e, _) in &evenements {
        ids.insert(uuid(e)?);
    }
    let mut lignes = lire_par_id(c, "joueurs", "joueur_id", &ids, |l: &Ligne| l.joueur_id).await?;
    let mut changees = BTreeSet::new();
    for (e, ev) in evenements {
        let id = uuid(e)?;
        match (lignes.get_mut(&id), ev) {
            (
                None,
                EvenementJoueur::JoueurCree {
                    compte_id,
                    nom,
                    classe,
                    niveau,
                    stats,
                    ..
                },
            ) => {
                let ligne = Ligne {
                    joueur_id: id,
                    compte_id: compte_id.uuid(),
                    nom: nom.as_str().to_owned(),
                    classe: classe.nom().to_owned(),
                    niveau: entier(niveau.valeur()),
                    xp: 0,
                    pv_max: entier(stats.pv_max),
                    attaque: entier(stats.attaque),
                    defense: entier(stats.defense),
                    soin: entier(stats.soin),
                    combat_id: None,
                    version: e.sequence,
                    maj: e.recorded_at,
                };
                lignes.insert(id, ligne);
            }
            // Created already, or an event it has seen: nothing moves.
            (Some(_), EvenementJoueur::JoueurCree { .. }) | (None, _) => continue,
            (Some(l), _) if l.version >= e.sequence => continue,
            (Some(l), ev) => {
                l.version = e.sequence;
                l.maj = e.recorded_at;
                plier(l, &ev);
            }
        }
        changees.insert(id);
    }
    let lignes: Vec<Ligne> = changees.iter().filter_map(|id| lignes.remove(id)).collect();
    ecrire(c, "joueurs", "joueur_id", COLONNES, &lignes).await
}

fn plier(l: &mut Ligne, ev: &EvenementJoueur) {
    match ev {
        EvenementJoueur::JoueurCree { .. } => {}
        EvenementJoueur::XpGagnee { xp_totale, .. } => {
            l.xp = i64::try_from(*xp_totale).unwrap_or(i64::MAX);
        }
        EvenementJoueur::NiveauAtteint { niveau, stats } => {
            l.niveau = entier(niveau.valeur());
            l.pv_max = entier(stats.pv_max);
            l.attaque = entier(stats.attaque);
            l.defense = entier(stats.defense);
            l.soin = entier(stats.soin);
        }
        EvenementJoueur::EntreEnCombat { combat_id } => l.combat_id = Some(combat_id.uuid()),
        EvenementJoueur::SortiDuCombat { .. } => l.combat_id = None,
    }
}
