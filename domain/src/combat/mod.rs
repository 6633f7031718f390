//! **Combat**: one encounter fought by a party, server-authoritative.
//!
//! Prepared by an initiator against an encounter of its zone, joined (and left) by up to the
//! catalog's group size, launched by the initiator, or called off if the initiator leaves first. Each round every living participant acts once (attaquer,
//! soigner, provoquer, défendre); when all have acted, or the round's deadline has passed, the
//! monsters act, each against the top of its threat table. It ends in victory when every monster
//! is down, in defeat when every participant is knocked out or the round limit is reached; the
//! victory's XP, gold and loot are rolled then, from the seed stored in `CombatPrepare`, and
//! carried by `CombatTermine`.
//!
//! The rules live in [`moteur`]; this module holds the vocabulary and the state.

mod moteur;
#[cfg(test)]
mod tests;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::catalogue::{FrappeDeZone, LigneItem};
use crate::ids::{CombatId, JoueurId};
use crate::valeurs::{
    Classe, CodeMonstre, CodeRencontre, CodeZone, Graine, Horodatage, Niveau, NomJoueur, Or, Stats,
};
use crate::{Services, emettre, evenement_de_domaine};

pub use moteur::{ARMURE, BONUS_PROVOCATION, VARIANCE_DEGATS_PCT, VARIANCE_SOIN_PCT, degats, soin};

/// A character as it enters a combat, as the command side read it from its `Joueur`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combattant {
    /// The character.
    pub joueur_id: JoueurId,
    /// Its name, for the combat log.
    pub nom: NomJoueur,
    /// Its class.
    pub classe: Classe,
    /// Its level (its stats are the catalog's for this class and level).
    pub niveau: Niveau,
}

/// One of the four actions of a round. A field the action does not take is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Hit a monster (by its index in the encounter).
    Attaquer {
        /// Index of the monster.
        cible: u32,
    },
    /// Heal a participant (needs healing power).
    Soigner {
        /// The participant to heal.
        cible: JoueurId,
    },
    /// Take the top of every monster's threat table.
    Provoquer {},
    /// Halve the damage taken until the next round.
    Defendre {},
}

/// What can be asked of a combat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandeCombat {
    /// Prepares the combat against an encounter. The command side checks that the initiator
    /// stands in `zone` and is not engaged elsewhere.
    Preparer {
        /// The new combat's id.
        combat_id: CombatId,
        /// Which encounter.
        rencontre: CodeRencontre,
        /// The initiator's zone: the encounter must be there.
        zone: CodeZone,
        /// Every die of the combat rolls from it.
        graine: Graine,
        /// Who starts it (and alone may launch it).
        initiateur: Combattant,
    },
    /// Another character joins before the launch.
    Rejoindre {
        /// Who joins.
        combattant: Combattant,
    },
    /// The initiator starts round 1.
    Lancer {
        /// Who asks (must be the initiator).
        joueur_id: JoueurId,
        /// Now, to set the round's deadline.
        maintenant: Horodatage,
    },
    /// A participant acts in the current round.
    Agir {
        /// Who acts.
        joueur_id: JoueurId,
        /// What it does.
        action: Action,
        /// Now, to set the next round's deadline if this action ends the round.
        maintenant: Horodatage,
    },
    /// A participant leaves before the launch; the initiator leaving calls the combat off.
    Quitter {
        /// Who leaves.
        joueur_id: JoueurId,
    },
    /// Ends a round whose deadline has passed (sent by the round scheduler). A stale request
    /// for a round already over changes nothing.
    TerminerTour {
        /// The round to end.
        tour: u32,
        /// Now.
        maintenant: Horodatage,
    },
}

/// A monster as engaged in a combat: its catalog stats, copied so that replay never needs the
/// catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MonstreEngage {
    /// Catalog code.
    pub code: CodeMonstre,
    /// Display name.
    pub nom: String,
    /// Hit points at the start.
    pub pv_max: u32,
    /// Attack power.
    pub attaque: u32,
    /// Defense.
    pub defense: u32,
    /// Area attack, if any.
    pub frappe_de_zone: Option<FrappeDeZone>,
}

/// A character as engaged in a combat, with the stats it fights with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CombattantEngage {
    /// The character.
    pub joueur_id: JoueurId,
    /// Its name.
    pub nom: NomJoueur,
    /// Its class.
    pub classe: Classe,
    /// Its level.
    pub niveau: Niveau,
    /// Its stats (full HP at the start).
    pub stats: Stats,
}

/// How a combat ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Issue {
    /// Every monster is down.
    Victoire,
    /// Every participant is knocked out, or the round limit was reached.
    Defaite,
}

/// A participant's share of a victory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecompenseCombat {
    /// Who.
    pub joueur_id: JoueurId,
    /// XP earned.
    pub xp: u32,
    /// Gold looted.
    pub or: Or,
    /// Items looted.
    pub items: Vec<LigneItem>,
}

/// A participant as the combat ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilanParticipant {
    /// Who.
    pub joueur_id: JoueurId,
    /// In which role it fought.
    pub classe: Classe,
    /// Knocked out at the end.
    pub ko: bool,
}

/// What happened in a combat.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
pub enum EvenementCombat {
    /// The combat was prepared; the initiator is its first participant.
    CombatPrepare {
        /// Its id.
        combat_id: CombatId,
        /// The encounter.
        rencontre: CodeRencontre,
        /// Where.
        zone: CodeZone,
        /// The seed of every roll.
        graine: Graine,
        /// Who started it.
        initiateur: CombattantEngage,
        /// The monsters, in encounter order (their index is their target number).
        monstres: Vec<MonstreEngage>,
    },
    /// A character joined.
    CombattantRejoint {
        /// Who, with its stats.
        combattant: CombattantEngage,
    },
    /// A participant left before the launch.
    CombattantParti {
        /// Who.
        joueur_id: JoueurId,
    },
    /// The initiator left before the launch: the combat is called off and its participants
    /// are free again.
    CombatAnnule {
        /// Who was in it (the initiator first).
        participants: Vec<JoueurId>,
    },
    /// The combat started.
    CombatLance {
        /// Its participants, in order.
        participants: Vec<JoueurId>,
    },
    /// A round started.
    TourCommence {
        /// Its number, from 1.
        tour: u32,
        /// When the monsters act even if someone has not.
        echeance: Horodatage,
    },
    /// A participant hit a monster.
    AttaquePortee {
        /// In which round.
        tour: u32,
        /// Who hit.
        joueur_id: JoueurId,
        /// Which monster.
        monstre: u32,
        /// Damage dealt.
        degats: u32,
        /// A critical hit.
        critique: bool,
        /// The monster's HP after it.
        pv_restants: u32,
        /// The attacker's threat on that monster after it.
        menace: u64,
    },
    /// A participant healed another (or itself).
    SoinProdigue {
        /// In which round.
        tour: u32,
        /// The healer.
        joueur_id: JoueurId,
        /// The healed.
        cible: JoueurId,
        /// HP restored.
        montant: u32,
        /// The target's HP after it.
        pv_apres: u32,
        /// The healer's threat on each monster after it.
        menace: Vec<u64>,
    },
    /// A participant took the top of every threat table.
    ProvocationLancee {
        /// In which round.
        tour: u32,
        /// Who.
        joueur_id: JoueurId,
        /// Its threat on each monster after it.
        menace: Vec<u64>,
    },
    /// A participant braced for the monsters' turn.
    DefensePrise {
        /// In which round.
        tour: u32,
        /// Who.
        joueur_id: JoueurId,
    },
    /// A monster fell.
    MonstreVaincu {
        /// Which one.
        monstre: u32,
        /// Its code (for quests).
        code: CodeMonstre,
    },
    /// A monster hit a participant.
    MonstreAttaque {
        /// In which round.
        tour: u32,
        /// Which monster.
        monstre: u32,
        /// Who was hit.
        cible: JoueurId,
        /// Damage taken.
        degats: u32,
        /// The target's HP after it.
        pv_restants: u32,
        /// Part of an area attack.
        frappe_de_zone: bool,
    },
    /// A participant was knocked out.
    CombattantKo {
        /// Who.
        joueur_id: JoueurId,
    },
    /// The combat is over; rewards (victory only) were rolled.
    CombatTermine {
        /// Victory or defeat.
        issue: Issue,
        /// Rounds fought.
        tours: u32,
        /// Who fought, and how they ended.
        participants: Vec<BilanParticipant>,
        /// Monsters defeated, by code, in encounter order.
        monstres_vaincus: Vec<CodeMonstre>,
        /// Each participant's XP, gold and loot (empty on defeat).
        recompenses: Vec<RecompenseCombat>,
    },
}

evenement_de_domaine!(EvenementCombat, Combat);

/// Why a command on a combat was refused.
///
/// Each refusal has a stable code, its variant's name in SCREAMING_SNAKE_CASE
/// (`InventairePlein` → `INVENTAIRE_PLEIN`): clients match on it, so renaming a variant is a
/// protocol change.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurCombat {
    /// `Preparer` on a combat that exists.
    #[error("ce combat est déjà préparé")]
    CombatDejaPrepare,
    /// Any command but `Preparer` on a combat that does not exist.
    #[error("ce combat n'existe pas")]
    CombatInexistant,
    /// The encounter is not in the catalog.
    #[error("rencontre inconnue « {0} »")]
    RencontreInconnue(CodeRencontre),
    /// The encounter is in another zone than the initiator.
    #[error("la rencontre « {rencontre} » n'est pas dans la zone « {zone} »")]
    RencontreHorsZone {
        /// The encounter.
        rencontre: CodeRencontre,
        /// The initiator's zone.
        zone: CodeZone,
    },
    /// A character joining from another zone than the combat's (checked by the command side,
    /// which knows where characters stand).
    #[error("le combat a lieu en « {combat} », le personnage est en « {zone} »")]
    HorsDeLaZone {
        /// The combat's zone.
        combat: CodeZone,
        /// The character's zone.
        zone: CodeZone,
    },
    /// A level above the catalog's cap.
    #[error("niveau {0} au-delà du niveau maximum")]
    NiveauInvalide(Niveau),
    /// `Rejoindre` or `Lancer` after the launch.
    #[error("le combat est déjà lancé")]
    CombatDejaLance,
    /// `Agir` or `TerminerTour` before the launch.
    #[error("le combat n'est pas encore lancé")]
    CombatNonLance,
    /// Any command after the end.
    #[error("le combat est terminé")]
    CombatTermine,
    /// Any command after the initiator called the combat off.
    #[error("le combat a été annulé")]
    CombatAnnule,
    /// The party is full.
    #[error("le groupe est complet ({max} participants au plus)")]
    GroupeComplet {
        /// The catalog's group size.
        max: u32,
    },
    /// `Rejoindre` by a participant.
    #[error("ce personnage participe déjà au combat")]
    DejaParticipant,
    /// `Lancer` by someone else than the initiator.
    #[error("seul l'initiateur peut lancer le combat")]
    SeulLInitiateurPeutLancer,
    /// `Agir` or `Quitter` by a non-participant.
    #[error("ce personnage ne participe pas au combat")]
    PasParticipant,
    /// `Agir` by a knocked-out participant.
    #[error("un personnage KO ne peut pas agir")]
    JoueurKo,
    /// `Agir` twice in a round.
    #[error("ce personnage a déjà agi pendant ce tour")]
    DejaAgi,
    /// `Attaquer` a monster index that does not exist.
    #[error("il n'y a pas de monstre n°{0}")]
    MonstreInconnu(u32),
    /// `Attaquer` a monster already down.
    #[error("le monstre n°{0} est déjà vaincu")]
    MonstreDejaVaincu(u32),
    /// `Soigner` by a class without healing power.
    #[error("ce personnage ne sait pas soigner")]
    NePeutPasSoigner,
    /// `Soigner` someone who is not in the combat.
    #[error("la cible du soin ne participe pas au combat")]
    CibleHorsCombat,
    /// `Soigner` a knocked-out participant.
    #[error("un personnage KO ne peut pas être soigné")]
    CibleKo,
    /// `TerminerTour` for a round that has not started.
    #[error("le tour {demande} n'a pas commencé (tour en cours : {en_cours})")]
    TourFutur {
        /// The round asked for.
        demande: u32,
        /// The current round.
        en_cours: u32,
    },
    /// `TerminerTour` before the deadline while someone may still act.
    #[error("le tour ne se termine pas avant {0}")]
    EcheanceNonAtteinte(Horodatage),
}

/// Where a combat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Phase {
    /// Waiting for participants and the launch.
    Preparation,
    /// Fighting.
    EnCours {
        /// The current round.
        tour: u32,
        /// Its deadline.
        echeance: Horodatage,
    },
    /// Called off before the launch.
    Annule,
    /// Over.
    Termine {
        /// How.
        issue: Issue,
        /// After how many rounds.
        tours: u32,
    },
}

/// A participant, during the fight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Participant {
    /// Who, and with which stats.
    pub combattant: CombattantEngage,
    /// Current HP.
    pub pv: u32,
    /// Has acted this round.
    pub a_agi: bool,
    /// Defends until the next round.
    pub defend: bool,
    /// Its threat on each monster (same order as the monsters).
    pub menace: Vec<u64>,
}

impl Participant {
    /// Knocked out.
    pub fn ko(&self) -> bool {
        self.pv == 0
    }
}

/// A monster, during the fight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Monstre {
    /// What it is.
    pub engage: MonstreEngage,
    /// Current HP.
    pub pv: u32,
}

impl Monstre {
    /// Down.
    pub fn vaincu(&self) -> bool {
        self.pv == 0
    }
}

/// The state of a prepared combat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EtatCombat {
    /// Its id.
    pub combat_id: CombatId,
    /// The encounter.
    pub rencontre: CodeRencontre,
    /// Where.
    pub zone: CodeZone,
    /// The seed of every roll.
    pub graine: Graine,
    /// Who may launch it.
    pub initiateur: JoueurId,
    /// Where it stands.
    pub phase: Phase,
    /// In joining order.
    pub participants: Vec<Participant>,
    /// In encounter order.
    pub monstres: Vec<Monstre>,
}

impl EtatCombat {
    /// The participant with this id, and its index.
    pub fn participant(&self, joueur_id: JoueurId) -> Option<(usize, &Participant)> {
        self.participants
            .iter()
            .enumerate()
            .find(|(_, p)| p.combattant.joueur_id == joueur_id)
    }

    /// The participant a monster targets: highest threat among the living, the first to have
    /// joined on a tie.
    pub fn cible_du_monstre(&self, monstre: usize) -> Option<usize> {
        self.participants
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.ko())
            .max_by(|(ia, a), (ib, b)| {
                let ma = a.menace.get(monstre).copied().unwrap_or(0);
                let mb = b.menace.get(monstre).copied().unwrap_or(0);
                ma.cmp(&mb).then(ib.cmp(ia))
            })
            .map(|(i, _)| i)
    }

    fn participant_mut(&mut self, joueur_id: JoueurId) -> Option<&mut Participant> {
        self.participants
            .iter_mut()
            .find(|p| p.combattant.joueur_id == joueur_id)
    }

    fn monstre_mut(&mut self, index: u32) -> Option<&mut Monstre> {
        self.monstres.get_mut(index as usize)
    }

    fn rejoindre(&mut self, combattant: CombattantEngage) {
        self.participants.push(Participant {
            pv: combattant.stats.pv_max,
            combattant,
            a_agi: false,
            defend: false,
            menace: vec![0; self.monstres.len()],
        });
    }

    fn agi(&mut self, joueur_id: JoueurId) -> Option<&mut Participant> {
        let p = self.participant_mut(joueur_id)?;
        p.a_agi = true;
        Some(p)
    }

    /// Folds an event (but `CombatPrepare`, which creates the state) into the state.
    fn appliquer(&mut self, evenement: EvenementCombat) {
        match evenement {
            EvenementCombat::CombatPrepare { .. } | EvenementCombat::CombatLance { .. } => {}
            EvenementCombat::CombattantRejoint { combattant } => self.rejoindre(combattant),
            EvenementCombat::CombattantParti { joueur_id } => {
                self.participants
                    .retain(|p| p.combattant.joueur_id != joueur_id);
            }
            EvenementCombat::CombatAnnule { .. } => self.phase = Phase::Annule,
            EvenementCombat::TourCommence { tour, echeance } => {
                self.phase = Phase::EnCours { tour, echeance };
                for p in &mut self.participants {
                    p.a_agi = false;
                    p.defend = false;
                }
            }
            EvenementCombat::AttaquePortee {
                joueur_id,
                monstre,
                pv_restants,
                menace,
                ..
            } => {
                if let Some(p) = self.agi(joueur_id)
                    && let Some(m) = p.menace.get_mut(monstre as usize)
                {
                    *m = menace;
                }
                if let Some(m) = self.monstre_mut(monstre) {
                    m.pv = pv_restants;
                }
            }
            EvenementCombat::SoinProdigue {
                joueur_id,
                cible,
                pv_apres,
                menace,
                ..
            } => {
                if let Some(p) = self.agi(joueur_id) {
                    p.menace = menace;
                }
                if let Some(c) = self.participant_mut(cible) {
                    c.pv = pv_apres;
                }
            }
            EvenementCombat::ProvocationLancee {
                joueur_id, menace, ..
            } => {
                if let Some(p) = self.agi(joueur_id) {
                    p.menace = menace;
                }
            }
            EvenementCombat::DefensePrise { joueur_id, .. } => {
                if let Some(p) = self.agi(joueur_id) {
                    p.defend = true;
                }
            }
            EvenementCombat::MonstreVaincu { monstre, .. } => {
                if let Some(m) = self.monstre_mut(monstre) {
                    m.pv = 0;
                }
            }
            EvenementCombat::MonstreAttaque {
                cible, pv_restants, ..
            } => {
                if let Some(c) = self.participant_mut(cible) {
                    c.pv = pv_restants;
                }
            }
            EvenementCombat::CombattantKo { joueur_id } => {
                if let Some(c) = self.participant_mut(joueur_id) {
                    c.pv = 0;
                }
            }
            EvenementCombat::CombatTermine { issue, tours, .. } => {
                self.phase = Phase::Termine { issue, tours };
            }
        }
    }
}

/// The `Combat` aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Combat {
    etat: Option<EtatCombat>,
}

impl Combat {
    /// The state, once prepared.
    pub fn etat(&self) -> Option<&EtatCombat> {
        self.etat.as_ref()
    }
}

impl Aggregate for Combat {
    const TYPE: &'static str = "Combat";
    type Command = CommandeCombat;
    type Event = EvenementCombat;
    type Error = ErreurCombat;
    type Services = Services;

    async fn handle(
        &mut self,
        commande: Self::Command,
        catalogue: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let evenements = moteur::decider(self.etat.as_ref(), commande, catalogue)?;
        emettre(self, sink, evenements).await;
        Ok(())
    }

    fn apply(&mut self, evenement: Self::Event) {
        match (&mut self.etat, evenement) {
            (
                None,
                EvenementCombat::CombatPrepare {
                    combat_id,
                    rencontre,
                    zone,
                    graine,
                    initiateur,
                    monstres,
                },
            ) => {
                let mut etat = EtatCombat {
                    combat_id,
                    rencontre,
                    zone,
                    graine,
                    initiateur: initiateur.joueur_id,
                    phase: Phase::Preparation,
                    participants: Vec::new(),
                    monstres: monstres
                        .into_iter()
                        .map(|engage| Monstre {
                            pv: engage.pv_max,
                            engage,
                        })
                        .collect(),
                };
                etat.rejoindre(initiateur);
                self.etat = Some(etat);
            }
            (Some(etat), evenement) => etat.appliquer(evenement),
            (None, _) => {}
        }
    }
}
