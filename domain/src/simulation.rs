//! Balance simulation: a party fights an encounter with a simple scripted policy, through the
//! `Combat` aggregate's own `handle` and `apply`, exactly as the command side drives it.
//!
//! The policy is deliberately plain, what a new player does: the Tank provokes whenever a monster
//! looks at someone else and attacks otherwise; the Heal heals whoever is the most hurt below
//! 60 % of their HP and attacks otherwise; a DPS attacks. Everyone focuses the weakest monster.
//! Win rates over many seeds are the balance figures of the catalog.

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;

use crate::Services;
use crate::combat::{
    Action, Combat, Combattant, CommandeCombat, ErreurCombat, EtatCombat, Issue, Phase,
};
use crate::ids::{CombatId, JoueurId};
use crate::valeurs::{Classe, CodeRencontre, Graine, Horodatage, Niveau, NomJoueur};

/// Heal someone whose HP fall below this share of their maximum.
const SEUIL_SOIN_PCT: u64 = 60;

/// One simulated fight's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bilan {
    /// Victory or defeat.
    pub issue: Issue,
    /// Rounds fought.
    pub tours: u32,
}

/// A simulated fight that could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErreurSimulation {
    /// The combat refused a command (an unknown encounter, a party too large...).
    #[error("le combat a refusé une commande : {0}")]
    Combat(#[from] ErreurCombat),
    /// An empty party.
    #[error("il faut au moins un participant")]
    GroupeVide,
    /// A party name could not be built (never happens with the generated names).
    #[error("nom de simulation invalide")]
    Nom,
}

/// The action the scripted policy picks for a participant.
pub fn action_scriptee(etat: &EtatCombat, participant: usize) -> Action {
    let moi = &etat.participants[participant];
    let cible_faible = etat
        .monstres
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.vaincu())
        .min_by_key(|(i, m)| (m.pv, *i))
        .map_or(0, |(i, _)| i as u32);
    let attaquer = Action::Attaquer {
        cible: cible_faible,
    };
    match moi.combattant.classe {
        Classe::Tank => {
            let regarde_ailleurs = (0..etat.monstres.len())
                .filter(|&i| !etat.monstres[i].vaincu())
                .any(|i| etat.cible_du_monstre(i) != Some(participant));
            if regarde_ailleurs {
                Action::Provoquer {}
            } else {
                attaquer
            }
        }
        Classe::Heal => {
            let blesse = etat
                .participants
                .iter()
                .filter(|p| !p.ko())
                .filter(|p| {
                    u64::from(p.pv) * 100 < u64::from(p.combattant.stats.pv_max) * SEUIL_SOIN_PCT
                })
                .min_by_key(|p| {
                    u64::from(p.pv) * 1000 / u64::from(p.combattant.stats.pv_max.max(1))
                });
            match blesse {
                Some(p) => Action::Soigner {
                    cible: p.combattant.joueur_id,
                },
                None => attaquer,
            }
        }
        Classe::Dps => attaquer,
    }
}

/// Fights one encounter with a party of the given classes at the given level.
pub async fn simuler(
    catalogue: &Services,
    rencontre: &CodeRencontre,
    groupe: &[Classe],
    niveau: Niveau,
    graine: Graine,
) -> Result<Bilan, ErreurSimulation> {
    let zone = catalogue
        .rencontre(rencontre)
        .map(|r| r.zone.clone())
        .ok_or_else(|| ErreurCombat::RencontreInconnue(rencontre.clone()))?;
    let mut membres = Vec::with_capacity(groupe.len());
    for (i, &classe) in groupe.iter().enumerate() {
        // Deterministic ids so that a seed replays the same fight.
        let uuid = uuid::Uuid::from_u64_pair(graine.valeur(), i as u64 + 1);
        membres.push(Combattant {
            joueur_id: JoueurId::from_uuid(uuid),
            nom: NomJoueur::parse(&format!("Sim{i}")).map_err(|_| ErreurSimulation::Nom)?,
            classe,
            niveau,
        });
    }
    let mut membres = membres.into_iter();
    let initiateur = membres.next().ok_or(ErreurSimulation::GroupeVide)?;
    let initiateur_id = initiateur.joueur_id;
    let maintenant = Horodatage::UNIX_EPOCH;
    let mut combat = Combat::default();
    let combat_id = CombatId::from_uuid(uuid::Uuid::from_u64_pair(graine.valeur(), 0));
    executer(
        &mut combat,
        catalogue,
        CommandeCombat::Preparer {
            combat_id,
            rencontre: rencontre.clone(),
            zone,
            graine,
            initiateur,
        },
    )
    .await?;
    for combattant in membres {
        executer(
            &mut combat,
            catalogue,
            CommandeCombat::Rejoindre { combattant },
        )
        .await?;
    }
    executer(
        &mut combat,
        catalogue,
        CommandeCombat::Lancer {
            joueur_id: initiateur_id,
            maintenant,
        },
    )
    .await?;
    loop {
        let Some(etat) = combat.etat() else {
            return Err(ErreurCombat::CombatInexistant.into());
        };
        match etat.phase {
            Phase::Termine { issue, tours } => return Ok(Bilan { issue, tours }),
            Phase::Preparation => return Err(ErreurCombat::CombatNonLance.into()),
            Phase::Annule => return Err(ErreurCombat::CombatAnnule.into()),
            Phase::EnCours { .. } => {}
        }
        // A round in progress always has someone left to act: the last action ends it.
        let Some(acteur) = etat.participants.iter().position(|p| !p.ko() && !p.a_agi) else {
            return Err(ErreurCombat::DejaAgi.into());
        };
        let commande = CommandeCombat::Agir {
            joueur_id: etat.participants[acteur].combattant.joueur_id,
            action: action_scriptee(etat, acteur),
            maintenant,
        };
        executer(&mut combat, catalogue, commande).await?;
    }
}

async fn executer(
    combat: &mut Combat,
    catalogue: &Services,
    commande: CommandeCombat,
) -> Result<(), ErreurCombat> {
    let sink = EventSink::default();
    combat.handle(commande, catalogue, &sink).await
}
