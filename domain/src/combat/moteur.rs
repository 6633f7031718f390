//! The rules of combat: which command is allowed when, and what it makes happen.
//!
//! [`decider`] works on a copy of the state and applies each event it emits to that copy, so a
//! command that cascades (an attack that fells the last monster, an action that ends the round
//! and lets the monsters strike) reads the state exactly as replay will rebuild it.

use std::collections::BTreeMap;

use chrono::TimeDelta;

use super::{
    Action, BilanParticipant, Combattant, CombattantEngage, CommandeCombat, ErreurCombat,
    EtatCombat, EvenementCombat, Issue, MonstreEngage, Phase, RecompenseCombat,
};
use crate::catalogue::{Catalogue, LigneItem};
use crate::de::{But, Des};
use crate::ids::{CombatId, JoueurId};
use crate::valeurs::{CodeItem, CodeRencontre, CodeZone, Graine, Horodatage, Or, Quantite};

/// Damage and heals vary within these percentages of their base.
pub const VARIANCE_DEGATS_PCT: (u32, u32) = (85, 115);
/// See [`VARIANCE_DEGATS_PCT`].
pub const VARIANCE_SOIN_PCT: (u32, u32) = (90, 110);
/// Defense `d` lets `ARMURE / (ARMURE + d)` of the damage through.
pub const ARMURE: u64 = 50;
/// Provoking puts the provoker this far above the previous top of each threat table.
pub const BONUS_PROVOCATION: u64 = 10;
/// Monsters roll from a separate range of actor numbers than participants.
pub(super) const ACTEUR_MONSTRE: u64 = 1_000;

/// Damage of one hit: `attaque × variance × puissance`, ×1.5 on a critical hit, reduced by
/// defense, halved if the target defends, and at least 1.
pub fn degats(
    attaque: u32,
    defense: u32,
    variance_pct: u32,
    critique: bool,
    puissance_pct: u32,
    defend: bool,
) -> u32 {
    let mut brut = u64::from(attaque) * u64::from(variance_pct) * u64::from(puissance_pct) / 10_000;
    if critique {
        brut = brut * 3 / 2;
    }
    let mut reduit = brut * ARMURE / (ARMURE + u64::from(defense));
    if defend {
        reduit /= 2;
    }
    reduit.clamp(1, u64::from(u32::MAX)) as u32
}

/// HP a heal restores before it is capped at the target's missing HP.
pub fn soin(puissance: u32, variance_pct: u32) -> u32 {
    (u64::from(puissance) * u64::from(variance_pct) / 100) as u32
}

/// Checks a command against the state and returns the events it causes, in order.
pub(super) fn decider(
    etat: Option<&EtatCombat>,
    commande: CommandeCombat,
    catalogue: &Catalogue,
) -> Result<Vec<EvenementCombat>, ErreurCombat> {
    let Some(etat) = etat else {
        return match commande {
            CommandeCombat::Preparer {
                combat_id,
                rencontre,
                zone,
                graine,
                initiateur,
            } => preparer(catalogue, combat_id, rencontre, zone, graine, initiateur),
            _ => Err(ErreurCombat::CombatInexistant),
        };
    };
    let mut d = Deroulement {
        des: Des::new(etat.graine),
        etat: etat.clone(),
        evenements: Vec::new(),
        catalogue,
    };
    match commande {
        CommandeCombat::Preparer { .. } => return Err(ErreurCombat::CombatDejaPrepare),
        CommandeCombat::Rejoindre { combattant } => d.rejoindre(combattant)?,
        CommandeCombat::Quitter { joueur_id } => d.quitter(joueur_id)?,
        CommandeCombat::Lancer {
            joueur_id,
            maintenant,
        } => d.lancer(joueur_id, maintenant)?,
        CommandeCombat::Agir {
            joueur_id,
            action,
            maintenant,
        } => {
            d.agir(joueur_id, &action, maintenant)?;
        }
        CommandeCombat::TerminerTour { tour, maintenant } => d.terminer_tour(tour, maintenant)?,
    }
    Ok(d.evenements)
}

fn preparer(
    catalogue: &Catalogue,
    combat_id: CombatId,
    rencontre: CodeRencontre,
    zone: CodeZone,
    graine: Graine,
    initiateur: Combattant,
) -> Result<Vec<EvenementCombat>, ErreurCombat> {
    let def = catalogue
        .rencontre(&rencontre)
        .ok_or_else(|| ErreurCombat::RencontreInconnue(rencontre.clone()))?;
    if def.zone != zone {
        return Err(ErreurCombat::RencontreHorsZone { rencontre, zone });
    }
    let monstres = def
        .monstres
        .iter()
        .map(|code| {
            // A valid catalog resolves every monster of its encounters.
            let m = catalogue
                .monstre(code)
                .ok_or_else(|| ErreurCombat::RencontreInconnue(rencontre.clone()))?;
            Ok(MonstreEngage {
                code: code.clone(),
                nom: m.nom.clone(),
                pv_max: m.pv,
                attaque: m.attaque,
                defense: m.defense,
                frappe_de_zone: m.frappe_de_zone,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(vec![EvenementCombat::CombatPrepare {
        combat_id,
        rencontre,
        zone,
        graine,
        initiateur: engager(catalogue, initiateur)?,
        monstres,
    }])
}

fn engager(catalogue: &Catalogue, c: Combattant) -> Result<CombattantEngage, ErreurCombat> {
    if c.niveau > catalogue.regles().niveau_max {
        return Err(ErreurCombat::NiveauInvalide(c.niveau));
    }
    Ok(CombattantEngage {
        stats: catalogue.stats(c.classe, c.niveau),
        joueur_id: c.joueur_id,
        nom: c.nom,
        classe: c.classe,
        niveau: c.niveau,
    })
}

/// A command being decided: the state as it will be after the events emitted so far.
struct Deroulement<'a> {
    etat: EtatCombat,
    evenements: Vec<EvenementCombat>,
    catalogue: &'a Catalogue,
    des: Des,
}

impl Deroulement<'_> {
    fn emettre(&mut self, evenement: EvenementCombat) {
        self.etat.appliquer(evenement.clone());
        self.evenements.push(evenement);
    }

    fn echeance(&self, maintenant: Horodatage) -> Horodatage {
        let duree = i64::from(self.catalogue.regles().duree_tour_secondes);
        maintenant + TimeDelta::seconds(duree)
    }

    /// The current round, or why there is none.
    fn tour_en_cours(&self) -> Result<u32, ErreurCombat> {
        match self.etat.phase {
            Phase::Preparation => Err(ErreurCombat::CombatNonLance),
            Phase::EnCours { tour, .. } => Ok(tour),
            Phase::Annule => Err(ErreurCombat::CombatAnnule),
            Phase::Termine { .. } => Err(ErreurCombat::CombatTermine),
        }
    }

    fn en_preparation(&self) -> Result<(), ErreurCombat> {
        match self.etat.phase {
            Phase::Preparation => Ok(()),
            Phase::EnCours { .. } => Err(ErreurCombat::CombatDejaLance),
            Phase::Annule => Err(ErreurCombat::CombatAnnule),
            Phase::Termine { .. } => Err(ErreurCombat::CombatTermine),
        }
    }

    fn rejoindre(&mut self, combattant: Combattant) -> Result<(), ErreurCombat> {
        self.en_preparation()?;
        if self.etat.participant(combattant.joueur_id).is_some() {
            return Err(ErreurCombat::DejaParticipant);
        }
        let max = self.catalogue.regles().taille_groupe_max;
        if self.etat.participants.len() >= max as usize {
            return Err(ErreurCombat::GroupeComplet { max });
        }
        let combattant = engager(self.catalogue, combattant)?;
        self.emettre(EvenementCombat::CombattantRejoint { combattant });
        Ok(())
    }

    fn quitter(&mut self, joueur_id: JoueurId) -> Result<(), ErreurCombat> {
        self.en_preparation()?;
        if self.etat.participant(joueur_id).is_none() {
            return Err(ErreurCombat::PasParticipant);
        }
        if joueur_id == self.etat.initiateur {
            let participants = self
                .etat
                .participants
                .iter()
                .map(|p| p.combattant.joueur_id)
                .collect();
            self.emettre(EvenementCombat::CombatAnnule { participants });
        } else {
            self.emettre(EvenementCombat::CombattantParti { joueur_id });
        }
        Ok(())
    }

    fn lancer(&mut self, joueur_id: JoueurId, maintenant: Horodatage) -> Result<(), ErreurCombat> {
        self.en_preparation()?;
        if joueur_id != self.etat.initiateur {
            return Err(ErreurCombat::SeulLInitiateurPeutLancer);
        }
        let participants = self
            .etat
            .participants
            .iter()
            .map(|p| p.combattant.joueur_id)
            .collect();
        self.emettre(EvenementCombat::CombatLance { participants });
        self.emettre(EvenementCombat::TourCommence {
            tour: 1,
            echeance: self.echeance(maintenant),
        });
        Ok(())
    }

    fn agir(
        &mut self,
        joueur_id: JoueurId,
        action: &Action,
        maintenant: Horodatage,
    ) -> Result<(), ErreurCombat> {
        let tour = self.tour_en_cours()?;
        let (index, acteur) = self
            .etat
            .participant(joueur_id)
            .ok_or(ErreurCombat::PasParticipant)?;
        if acteur.ko() {
            return Err(ErreurCombat::JoueurKo);
        }
        if acteur.a_agi {
            return Err(ErreurCombat::DejaAgi);
        }
        match *action {
            Action::Attaquer { cible } => self.attaquer(tour, index, cible)?,
            Action::Soigner { cible } => self.soigner(tour, index, cible)?,
            Action::Provoquer {} => self.provoquer(tour, index),
            Action::Defendre {} => self.emettre(EvenementCombat::DefensePrise { tour, joueur_id }),
        }
        if self.etat.monstres.iter().all(super::Monstre::vaincu) {
            self.terminer(Issue::Victoire, tour);
        } else if self.etat.participants.iter().all(|p| p.ko() || p.a_agi) {
            self.tour_des_monstres(tour, maintenant);
        }
        Ok(())
    }

    fn attaquer(&mut self, tour: u32, index: usize, cible: u32) -> Result<(), ErreurCombat> {
        let monstre = self
            .etat
            .monstres
            .get(cible as usize)
            .ok_or(ErreurCombat::MonstreInconnu(cible))?;
        if monstre.vaincu() {
            return Err(ErreurCombat::MonstreDejaVaincu(cible));
        }
        let acteur = &self.etat.participants[index];
        let classe = self.catalogue.classe(acteur.combattant.classe);
        let contexte = [u64::from(tour), index as u64, u64::from(cible)];
        let (min, max) = VARIANCE_DEGATS_PCT;
        let variance = self.des.entre(But::Degats, &contexte, min, max);
        let critique = self
            .des
            .chance(But::Critique, &contexte, classe.critique_pct);
        let degats = degats(
            acteur.combattant.stats.attaque,
            monstre.engage.defense,
            variance,
            critique,
            100,
            false,
        );
        let pv_restants = monstre.pv.saturating_sub(degats);
        let menace = acteur.menace[cible as usize]
            .saturating_add(u64::from(degats) * u64::from(classe.menace_pct) / 100);
        let code = monstre.engage.code.clone();
        let joueur_id = acteur.combattant.joueur_id;
        self.emettre(EvenementCombat::AttaquePortee {
            tour,
            joueur_id,
            monstre: cible,
            degats,
            critique,
            pv_restants,
            menace,
        });
        if pv_restants == 0 {
            self.emettre(EvenementCombat::MonstreVaincu {
                monstre: cible,
                code,
            });
        }
        Ok(())
    }

    fn soigner(&mut self, tour: u32, index: usize, cible: JoueurId) -> Result<(), ErreurCombat> {
        let acteur = &self.etat.participants[index];
        if acteur.combattant.stats.soin == 0 {
            return Err(ErreurCombat::NePeutPasSoigner);
        }
        let (_, soigne) = self
            .etat
            .participant(cible)
            .ok_or(ErreurCombat::CibleHorsCombat)?;
        if soigne.ko() {
            return Err(ErreurCombat::CibleKo);
        }
        let (min, max) = VARIANCE_SOIN_PCT;
        let variance = self
            .des
            .entre(But::Soin, &[u64::from(tour), index as u64], min, max);
        let manquants = soigne.combattant.stats.pv_max.saturating_sub(soigne.pv);
        let montant = soin(acteur.combattant.stats.soin, variance).min(manquants);
        let pv_apres = soigne.pv + montant;
        // Half the heal becomes threat, shared among the monsters still standing.
        let debout = self
            .etat
            .monstres
            .iter()
            .filter(|m| !m.vaincu())
            .count()
            .max(1) as u64;
        let part = u64::from(montant) / 2 / debout;
        let menace = acteur
            .menace
            .iter()
            .zip(&self.etat.monstres)
            .map(|(&m, monstre)| {
                if monstre.vaincu() {
                    m
                } else {
                    m.saturating_add(part)
                }
            })
            .collect();
        let joueur_id = acteur.combattant.joueur_id;
        self.emettre(EvenementCombat::SoinProdigue {
            tour,
            joueur_id,
            cible,
            montant,
            pv_apres,
            menace,
        });
        Ok(())
    }

    fn provoquer(&mut self, tour: u32, index: usize) {
        let menace = (0..self.etat.monstres.len())
            .map(|i| {
                let actuelle = self.etat.participants[index].menace[i];
                if self.etat.monstres[i].vaincu() {
                    return actuelle;
                }
                let sommet = self
                    .etat
                    .participants
                    .iter()
                    .map(|p| p.menace[i])
                    .max()
                    .unwrap_or(0);
                sommet.saturating_add(BONUS_PROVOCATION)
            })
            .collect();
        let joueur_id = self.etat.participants[index].combattant.joueur_id;
        self.emettre(EvenementCombat::ProvocationLancee {
            tour,
            joueur_id,
            menace,
        });
    }

    fn terminer_tour(&mut self, tour: u32, maintenant: Horodatage) -> Result<(), ErreurCombat> {
        let (en_cours, echeance) = match self.etat.phase {
            Phase::Preparation => return Err(ErreurCombat::CombatNonLance),
            // A timer that fires after the end, or after its round ended, is stale: no change.
            Phase::Termine { .. } | Phase::Annule => return Ok(()),
            Phase::EnCours { tour, echeance } => (tour, echeance),
        };
        if tour < en_cours {
            return Ok(());
        }
        if tour > en_cours {
            return Err(ErreurCombat::TourFutur {
                demande: tour,
                en_cours,
            });
        }
        let tous_ont_agi = self.etat.participants.iter().all(|p| p.ko() || p.a_agi);
        if maintenant < echeance && !tous_ont_agi {
            return Err(ErreurCombat::EcheanceNonAtteinte(echeance));
        }
        self.tour_des_monstres(tour, maintenant);
        Ok(())
    }

    /// Every monster still standing strikes, then the next round starts (or the combat ends).
    fn tour_des_monstres(&mut self, tour: u32, maintenant: Horodatage) {
        for i in 0..self.etat.monstres.len() {
            let monstre = &self.etat.monstres[i];
            if monstre.vaincu() {
                continue;
            }
            let frappe = monstre
                .engage
                .frappe_de_zone
                .filter(|f| tour.is_multiple_of(f.tous_les_n_tours));
            let cibles: Vec<usize> = match frappe {
                Some(_) => (0..self.etat.participants.len())
                    .filter(|&j| !self.etat.participants[j].ko())
                    .collect(),
                None => self.etat.cible_du_monstre(i).into_iter().collect(),
            };
            let puissance = frappe.map_or(100, |f| f.puissance_pct);
            for j in cibles {
                self.frapper(tour, i, j, puissance, frappe.is_some());
            }
            if self.etat.participants.iter().all(super::Participant::ko) {
                self.terminer(Issue::Defaite, tour);
                return;
            }
        }
        if tour >= self.catalogue.regles().tours_max {
            self.terminer(Issue::Defaite, tour);
            return;
        }
        self.emettre(EvenementCombat::TourCommence {
            tour: tour + 1,
            echeance: self.echeance(maintenant),
        });
    }

    fn frapper(&mut self, tour: u32, monstre: usize, cible: usize, puissance: u32, zone: bool) {
        let m = &self.etat.monstres[monstre].engage;
        let p = &self.etat.participants[cible];
        let (min, max) = VARIANCE_DEGATS_PCT;
        let contexte = [
            u64::from(tour),
            ACTEUR_MONSTRE + monstre as u64,
            cible as u64,
        ];
        let variance = self.des.entre(But::Degats, &contexte, min, max);
        let degats = degats(
            m.attaque,
            p.combattant.stats.defense,
            variance,
            false,
            puissance,
            p.defend,
        );
        let pv_restants = p.pv.saturating_sub(degats);
        let joueur_id = p.combattant.joueur_id;
        self.emettre(EvenementCombat::MonstreAttaque {
            tour,
            monstre: monstre as u32,
            cible: joueur_id,
            degats,
            pv_restants,
            frappe_de_zone: zone,
        });
        if pv_restants == 0 {
            self.emettre(EvenementCombat::CombattantKo { joueur_id });
        }
    }

    fn terminer(&mut self, issue: Issue, tour: u32) {
        let participants = self
            .etat
            .participants
            .iter()
            .map(|p| BilanParticipant {
                joueur_id: p.combattant.joueur_id,
                classe: p.combattant.classe,
                ko: p.ko(),
            })
            .collect();
        let monstres_vaincus = self
            .etat
            .monstres
            .iter()
            .filter(|m| m.vaincu())
            .map(|m| m.engage.code.clone())
            .collect();
        let recompenses = match issue {
            Issue::Victoire => (0..self.etat.participants.len())
                .map(|j| self.butin(j))
                .collect(),
            Issue::Defaite => Vec::new(),
        };
        self.emettre(EvenementCombat::CombatTermine {
            issue,
            tours: tour,
            participants,
            monstres_vaincus,
            recompenses,
        });
    }

    /// A participant's share of a victory: every monster's XP, and gold and loot rolled per
    /// participant, so that each one gets its own drops.
    fn butin(&self, participant: usize) -> RecompenseCombat {
        let mut xp = 0u32;
        let mut or = 0u64;
        let mut items: BTreeMap<CodeItem, u32> = BTreeMap::new();
        for (i, monstre) in self.etat.monstres.iter().enumerate() {
            let Some(def) = self.catalogue.monstre(&monstre.engage.code) else {
                continue;
            };
            let contexte = [participant as u64, i as u64];
            xp = xp.saturating_add(def.xp);
            or += u64::from(
                self.des
                    .entre(But::ButinOr, &contexte, def.or.min, def.or.max),
            );
            for (k, ligne) in def.butin.iter().enumerate() {
                let contexte = [participant as u64, i as u64, k as u64];
                if self
                    .des
                    .chance(But::ButinChance, &contexte, ligne.chance_pct)
                {
                    let (min, max) = (ligne.quantite.min, ligne.quantite.max);
                    let n = self.des.entre(But::ButinQuantite, &contexte, min, max);
                    *items.entry(ligne.item.clone()).or_default() += n;
                }
            }
        }
        RecompenseCombat {
            joueur_id: self.etat.participants[participant].combattant.joueur_id,
            xp,
            or: Or::new(or),
            items: items
                .into_iter()
                .filter_map(|(item, n)| {
                    let quantite = Quantite::parse(u64::from(n.min(Quantite::MAX))).ok()?;
                    Some(LigneItem { item, quantite })
                })
                .collect(),
        }
    }
}
