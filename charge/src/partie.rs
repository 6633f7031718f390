//! The game state a party of three (Tank, DPS, Heal) shares: where its combat stands and
//! where its trade stands. A member's tick asks what it may send now
//! ([`Partie::combat_suivant`], [`Partie::echange_suivant`]); its answer moves the state
//! ([`Partie::combat_reponse`], [`Partie::echange_reponse`]). One step of each is in flight
//! per member at most: a combat action sent before the previous one is answered would only
//! be refused (`DEJA_AGI`), which measures nothing.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::stats::Methode;

/// The encounter every party fights: two wolves in the start zone, won in 3–4 rounds.
const RENCONTRE: &str = "meute_de_loups";
/// Monsters in [`RENCONTRE`].
const MONSTRES: u8 = 2;
/// Pause after a combat ends before the next: the bus frees the characters a few ms later.
const REPOS: Duration = Duration::from_secs(1);
/// A round everyone acted in without a new round seen for this long closed by its deadline
/// (or its answer was lost): act again.
const TOUR_BLOQUE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhaseCombat {
    Libre,
    Demarrage,
    Preparation,
    EnCours,
    Repos(Instant),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PhaseEchange {
    Libre,
    Proposition,
    Ouvert(String),
}

/// A call to send: method and params.
pub(crate) type Envoi = (Methode, Value);

/// The shared state of one party.
#[derive(Debug)]
pub(crate) struct Partie {
    ids: [String; 3],
    phase: PhaseCombat,
    combat_id: String,
    rejoints: [bool; 3],
    agi: [bool; 3],
    en_vol: [bool; 3],
    cible: [u8; 3],
    vaincus: u8,
    tour: u64,
    progres: Instant,
    echange: PhaseEchange,
    echange_en_vol: bool,
    acceptes: [bool; 3],
    echanges: u64,
}

fn code(erreur: Option<&Value>) -> &str {
    erreur
        .and_then(|e| e["data"]["code"].as_str())
        .unwrap_or("")
}

impl Partie {
    /// A party of these three characters (Tank, DPS, Heal), out of combat.
    pub(crate) fn new(ids: [String; 3]) -> Self {
        Self {
            ids,
            phase: PhaseCombat::Libre,
            combat_id: String::new(),
            rejoints: [false; 3],
            agi: [false; 3],
            en_vol: [false; 3],
            cible: [0; 3],
            vaincus: 0,
            tour: 0,
            progres: Instant::now(),
            echange: PhaseEchange::Libre,
            echange_en_vol: false,
            acceptes: [false; 3],
            echanges: 0,
        }
    }

    fn en_cours(&mut self, combat_id: String, tour: u64) {
        self.phase = PhaseCombat::EnCours;
        self.combat_id = combat_id;
        self.agi = [false; 3];
        self.vaincus = 0;
        self.tour = tour;
        self.progres = Instant::now();
    }

    fn repos(&mut self) {
        self.phase = PhaseCombat::Repos(Instant::now() + REPOS);
    }

    /// The combat step member `m` may send now, if any.
    pub(crate) fn combat_suivant(&mut self, m: usize) -> Option<Envoi> {
        if self.en_vol[m] {
            return None;
        }
        let moi = &self.ids[m];
        let envoi = match self.phase {
            PhaseCombat::Repos(fin) if Instant::now() >= fin && m == 0 => {
                self.phase = PhaseCombat::Demarrage;
                (
                    Methode::CombatDemarrer,
                    json!({ "joueur_id": moi, "rencontre": RENCONTRE }),
                )
            }
            PhaseCombat::Libre if m == 0 => {
                self.phase = PhaseCombat::Demarrage;
                (
                    Methode::CombatDemarrer,
                    json!({ "joueur_id": moi, "rencontre": RENCONTRE }),
                )
            }
            PhaseCombat::Preparation if m != 0 && !self.rejoints[m] => (
                Methode::CombatRejoindre,
                json!({ "joueur_id": moi, "combat_id": self.combat_id }),
            ),
            PhaseCombat::Preparation if m == 0 && self.rejoints.iter().all(|r| *r) => (
                Methode::CombatLancer,
                json!({ "joueur_id": moi, "combat_id": self.combat_id }),
            ),
            PhaseCombat::EnCours => {
                if self.agi.iter().all(|a| *a) && self.progres.elapsed() > TOUR_BLOQUE {
                    self.agi = [false; 3];
                    self.progres = Instant::now();
                }
                if self.agi[m] {
                    return None;
                }
                let cible = (0..MONSTRES)
                    .find(|i| self.vaincus & (1 << i) == 0)
                    .unwrap_or(0);
                self.cible[m] = cible;
                let action = if m == 0 && self.tour <= 1 {
                    json!({ "type": "provoquer" })
                } else {
                    json!({ "type": "attaquer", "cible": cible })
                };
                (
                    Methode::CombatAgir,
                    json!({ "joueur_id": moi, "combat_id": self.combat_id, "action": action }),
                )
            }
            _ => return None,
        };
        self.en_vol[m] = true;
        Some(envoi)
    }

    /// The answer to member `m`'s combat step: `resultat` or `erreur`.
    pub(crate) fn combat_reponse(
        &mut self,
        m: usize,
        methode: Methode,
        resultat: Option<&Value>,
        erreur: Option<&Value>,
    ) {
        self.en_vol[m] = false;
        let code = code(erreur);
        match (methode, resultat) {
            (Methode::CombatDemarrer, Some(r)) => {
                r["combat_id"]
                    .as_str()
                    .unwrap_or_default()
                    .clone_into(&mut self.combat_id);
                self.phase = PhaseCombat::Preparation;
                self.rejoints = [true, false, false];
            }
            (Methode::CombatDemarrer, None) => {
                // A combat left from an earlier run: its id ends the message; play it out.
                let message = erreur.and_then(|e| e["message"].as_str()).unwrap_or("");
                let id = message.rsplit(' ').next().unwrap_or("");
                if code == "DEJA_EN_COMBAT" && id.len() == 36 {
                    self.en_cours(id.to_owned(), 0);
                } else {
                    self.repos();
                }
            }
            (Methode::CombatRejoindre, _) => match code {
                "" | "DEJA_PARTICIPANT" => self.rejoints[m] = true,
                "COMBAT_DEJA_LANCE" => self.en_cours(self.combat_id.clone(), 0),
                _ => self.repos(),
            },
            (Methode::CombatLancer, _) => match code {
                "" => self.en_cours(self.combat_id.clone(), 1),
                "COMBAT_DEJA_LANCE" => self.en_cours(self.combat_id.clone(), 0),
                _ => self.repos(),
            },
            (Methode::CombatAgir, Some(r)) => {
                self.agi[m] = true;
                self.progres = Instant::now();
                for e in r["evenements"].as_array().into_iter().flatten() {
                    match e["type"].as_str() {
                        Some("MonstreVaincu") => {
                            self.vaincus |= 1 << e["donnees"]["monstre"].as_u64().unwrap_or(0);
                        }
                        Some("TourCommence") => {
                            self.tour = e["donnees"]["tour"].as_u64().unwrap_or(self.tour + 1);
                            self.agi = [false; 3];
                        }
                        Some("CombatTermine") => self.repos(),
                        _ => {}
                    }
                }
            }
            (Methode::CombatAgir, None) => match code {
                "MONSTRE_DEJA_VAINCU" => self.vaincus |= 1 << self.cible[m],
                "COMBAT_NON_LANCE" => {
                    self.phase = PhaseCombat::Preparation;
                    self.rejoints = [true; 3];
                }
                "COMBAT_TERMINE" | "COMBAT_ANNULE" | "COMBAT_INEXISTANT" | "PAS_PARTICIPANT" => {
                    self.repos();
                }
                _ => self.agi[m] = true,
            },
            _ => {}
        }
    }

    /// Who gives in the current trade (DPS and Heal take turns, so gold goes back and forth)
    /// and who receives.
    fn sens(&self) -> (usize, usize) {
        if self.echanges.is_multiple_of(2) {
            (1, 2)
        } else {
            (2, 1)
        }
    }

    /// The trade step member `m` may send now, if any: the giver offers 1 gold, the receiver
    /// accepts, then the giver, which settles it.
    pub(crate) fn echange_suivant(&mut self, m: usize) -> Option<Envoi> {
        if self.echange_en_vol {
            return None;
        }
        let (donne, recoit) = self.sens();
        let envoi = match &self.echange {
            PhaseEchange::Libre if m == donne => (
                Methode::EchangeProposer,
                json!({ "joueur_id": self.ids[m], "destinataire": self.ids[recoit], "offre": { "or": 1 } }),
            ),
            PhaseEchange::Ouvert(id)
                if (m == recoit && !self.acceptes[recoit])
                    || (m == donne && self.acceptes[recoit] && !self.acceptes[donne]) =>
            {
                (
                    Methode::EchangeAccepter,
                    json!({ "joueur_id": self.ids[m], "echange_id": id }),
                )
            }
            _ => return None,
        };
        if envoi.0 == Methode::EchangeProposer {
            self.echange = PhaseEchange::Proposition;
        }
        self.echange_en_vol = true;
        Some(envoi)
    }

    /// The answer to member `m`'s trade step.
    pub(crate) fn echange_reponse(
        &mut self,
        m: usize,
        methode: Methode,
        resultat: Option<&Value>,
        erreur: Option<&Value>,
    ) {
        self.echange_en_vol = false;
        match (methode, resultat) {
            (Methode::EchangeProposer, Some(r)) => {
                let id = r["echange_id"].as_str().unwrap_or_default().to_owned();
                self.echange = PhaseEchange::Ouvert(id);
                self.acceptes = [false; 3];
            }
            (Methode::EchangeAccepter, Some(r)) => {
                self.acceptes[m] = true;
                let conclu = r["evenements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e["type"] == "EchangeConclu");
                if conclu {
                    self.echanges += 1;
                    self.echange = PhaseEchange::Libre;
                }
            }
            (Methode::EchangeAccepter, None) if code(erreur) == "DEJA_ACCEPTE" => {
                self.acceptes[m] = true;
            }
            _ => {
                // Refused (the giver out of gold, a closed trade...): start over, the other
                // way round.
                self.echanges += 1;
                self.echange = PhaseEchange::Libre;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partie() -> Partie {
        Partie::new(["t".into(), "d".into(), "h".into()])
    }

    #[test]
    fn un_combat_se_prepare_se_lance_et_se_joue_membre_par_membre() {
        let mut p = partie();
        assert!(p.combat_suivant(1).is_none(), "seul le Tank démarre");
        let (m, _) = p.combat_suivant(0).expect("démarrer");
        assert_eq!(m, Methode::CombatDemarrer);
        assert!(p.combat_suivant(0).is_none(), "un pas en vol à la fois");
        p.combat_reponse(0, m, Some(&json!({"combat_id": "c"})), None);
        assert!(p.combat_suivant(0).is_none(), "le Tank attend les autres");
        for i in [1, 2] {
            let (m, _) = p.combat_suivant(i).expect("rejoindre");
            assert_eq!(m, Methode::CombatRejoindre);
            p.combat_reponse(i, m, Some(&json!({})), None);
        }
        let (m, _) = p.combat_suivant(0).expect("lancer");
        assert_eq!(m, Methode::CombatLancer);
        p.combat_reponse(0, m, Some(&json!({})), None);
        let (m, params) = p.combat_suivant(0).expect("agir");
        assert_eq!(m, Methode::CombatAgir);
        assert_eq!(params["action"]["type"], "provoquer");
        p.combat_reponse(0, m, Some(&json!({"evenements": []})), None);
        assert!(p.combat_suivant(0).is_none(), "a déjà agi ce tour");
        let (m, _) = p.combat_suivant(1).expect("agir");
        let fin = json!({"evenements": [{"type": "CombatTermine", "donnees": {}}]});
        p.combat_reponse(1, m, Some(&fin), None);
        assert!(p.combat_suivant(0).is_none(), "repos après la fin");
    }

    #[test]
    fn un_echange_va_du_donneur_au_receveur_puis_change_de_sens() {
        let mut p = partie();
        assert!(p.echange_suivant(2).is_none());
        let (m, params) = p.echange_suivant(1).expect("proposer");
        assert_eq!(m, Methode::EchangeProposer);
        assert_eq!(params["destinataire"], "h");
        p.echange_reponse(1, m, Some(&json!({"echange_id": "e"})), None);
        assert!(
            p.echange_suivant(1).is_none(),
            "le receveur accepte d'abord"
        );
        let (m, _) = p.echange_suivant(2).expect("accepter");
        p.echange_reponse(2, m, Some(&json!({"evenements": []})), None);
        let (m, _) = p.echange_suivant(1).expect("accepter");
        let conclu = json!({"evenements": [{"type": "EchangeConclu"}]});
        p.echange_reponse(1, m, Some(&conclu), None);
        let (m, _) = p.echange_suivant(2).expect("l'autre sens");
        assert_eq!(m, Methode::EchangeProposer);
    }
}
