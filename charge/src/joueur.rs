//! One virtual player: a socket, maybe a character, and its open-loop timeline. Every
//! `intervalle` (the total rate shared among the characters) a tick is due; its action is
//! drawn from the mix and sent at once, without waiting for earlier answers, and its latency
//! is counted from the tick's intended time — a tick the client wakes late for still counts
//! from when it was due, so a stalled server shows in the figures instead of slowing the
//! schedule down (no coordinated omission). Socket-less waits are never made: every answer
//! and push is read as it comes. The game state ([`JoueurVirtuel`]: calls in flight, chat
//! window, economy cycle, party) is also what the crowd profile's characters play with
//! ([`crate::foule`]), on their own timers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::hasard::Hasard;
use crate::partie::{Envoi, Partie};
use crate::stats::{Methode, Stats};

/// A client socket.
pub(crate) type Flux = WebSocketStream<TcpStream>;

/// Chat messages a character may send per [`FENETRE_CHAT`] (the server allows 8; one less
/// absorbs the difference between the two clocks).
const MESSAGES_PAR_FENETRE: usize = 7;
/// The chat limit's window.
const FENETRE_CHAT: Duration = Duration::from_secs(10);
/// The longest step, in metres.
const PAS: f64 = 1.5;
/// How fast a character walks, in metres per second: a step covers at most the time since the
/// previous one at this pace, under the server's 7.7 m/s (catalog, `[deplacement]`) with a
/// margin, so that the server's distance budget never refuses the load's steps.
const VITESSE: f64 = 6.0;
/// How long after the end of the schedule answers are still awaited.
pub(crate) const GRACE: Duration = Duration::from_secs(10);

/// The kinds of action a tick may draw, with their weights.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Melange {
    /// `monde.deplacer`.
    pub(crate) deplacer: u32,
    /// `chat.envoyer` in the zone.
    pub(crate) chat: u32,
    /// The party's combat steps.
    pub(crate) combat: u32,
    /// Buy, craft, sell.
    pub(crate) economie: u32,
    /// The party's trade steps.
    pub(crate) echange: u32,
    /// `joueur.profil`, `inventaire.consulter`.
    pub(crate) lecture: u32,
}

impl std::str::FromStr for Melange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut m = Self {
            deplacer: 0,
            chat: 0,
            combat: 0,
            economie: 0,
            echange: 0,
            lecture: 0,
        };
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (nom, poids) = part
                .split_once('=')
                .ok_or_else(|| format!("« {part} » : attendu nom=poids"))?;
            let poids: u32 = poids
                .parse()
                .map_err(|_| format!("« {part} » : poids entier attendu"))?;
            let champ = match nom {
                "deplacer" => &mut m.deplacer,
                "chat" => &mut m.chat,
                "combat" => &mut m.combat,
                "economie" => &mut m.economie,
                "echange" => &mut m.echange,
                "lecture" => &mut m.lecture,
                autre => return Err(format!("genre d'action inconnu « {autre} »")),
            };
            *champ = poids;
        }
        if m.total() == 0 {
            return Err("le mélange est vide".to_owned());
        }
        Ok(m)
    }
}

/// A kind of action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Genre {
    /// A step.
    Deplacer,
    /// A zone chat line.
    Chat,
    /// The party's next combat step.
    Combat,
    /// The next step of buy, craft, sell.
    Economie,
    /// The party's next trade step.
    Echange,
    /// A read.
    Lecture,
}

impl Genre {
    const fn nom(self) -> &'static str {
        match self {
            Self::Deplacer => "deplacer",
            Self::Chat => "chat",
            Self::Combat => "combat",
            Self::Economie => "economie",
            Self::Echange => "echange",
            Self::Lecture => "lecture",
        }
    }
}

impl Melange {
    fn total(&self) -> u32 {
        self.deplacer + self.chat + self.combat + self.economie + self.echange + self.lecture
    }

    fn tirer(&self, hasard: u32) -> Genre {
        let mut t = hasard % self.total();
        for (poids, genre) in [
            (self.deplacer, Genre::Deplacer),
            (self.chat, Genre::Chat),
            (self.combat, Genre::Combat),
            (self.economie, Genre::Economie),
            (self.echange, Genre::Echange),
        ] {
            if t < poids {
                return genre;
            }
            t -= poids;
        }
        Genre::Lecture
    }
}

/// A character a player drives.
#[derive(Debug, Clone)]
pub(crate) struct Personnage {
    /// Its id.
    pub(crate) joueur_id: String,
    /// Where it stands (from `monde.zone`).
    pub(crate) position: (f64, f64),
    /// Its party and its place in it (0 Tank, 1 DPS, 2 Heal).
    pub(crate) partie: Option<(Arc<Mutex<Partie>>, usize)>,
}

/// When a player's ticks fall.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calendrier {
    /// The first tick of this player.
    pub(crate) debut: Instant,
    /// No tick at or after this.
    pub(crate) fin: Instant,
    /// Between two ticks of this player.
    pub(crate) intervalle: Duration,
    /// The mix.
    pub(crate) melange: Melange,
}

/// What an answer changes in the player's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum But {
    /// Nothing.
    Simple,
    /// A step: a refusal snaps the character back.
    Deplacement,
    /// `monde.zone`: where the character stands.
    Zone,
    /// The economy's cycle.
    Economie,
    /// The party's combat.
    Combat,
    /// The party's trade.
    Echange,
    /// `monde.proches`: nothing here (the crowd compares it with its picture).
    Proches,
}

struct Attente {
    methode: Methode,
    prevu: Instant,
    but: But,
}

/// An answered call, for whoever drives the player.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Repondu {
    /// Its method.
    pub(crate) methode: Methode,
    /// When it was due.
    pub(crate) prevu: Instant,
    /// Whether it was refused.
    pub(crate) erreur: bool,
}

/// A player's game state: its character, its calls in flight, its chat window, its economy
/// cycle; what it sends next and what the answers change.
pub(crate) struct JoueurVirtuel {
    /// Its character.
    pub(crate) perso: Personnage,
    hasard: Hasard,
    attentes: HashMap<u64, Attente>,
    suivant: u64,
    direction: f64,
    /// When the previous step was sent.
    dernier_pas: Option<Instant>,
    resynchroniser: bool,
    chats: VecDeque<Instant>,
    etape_economie: u8,
    economie_en_vol: bool,
    lectures: u64,
    /// What it measured.
    pub(crate) stats: Stats,
}

impl JoueurVirtuel {
    /// A player driving `perso`, its randomness seeded by `graine`.
    pub(crate) fn new(perso: Personnage, graine: u64) -> Self {
        Self {
            perso,
            hasard: Hasard::new(graine),
            attentes: HashMap::new(),
            suivant: 1_000,
            direction: if graine.is_multiple_of(2) { 1.0 } else { -1.0 },
            dernier_pas: None,
            resynchroniser: false,
            chats: VecDeque::new(),
            etape_economie: 0,
            economie_en_vol: false,
            lectures: 0,
            stats: Stats::default(),
        }
    }

    /// The next 32 random bits of this player.
    fn hasard(&mut self) -> u32 {
        self.hasard.suivant()
    }

    /// Its character's id.
    pub(crate) fn id(&self) -> &str {
        &self.perso.joueur_id
    }

    /// Whether no call awaits its answer.
    pub(crate) fn rien_en_vol(&self) -> bool {
        self.attentes.is_empty()
    }

    /// What this tick sends: the drawn action, or a read when it cannot go now.
    fn action(&mut self, melange: &Melange) -> (Envoi, But) {
        let genre = melange.tirer(self.hasard());
        self.action_de(genre)
    }

    /// The call for an action of kind `genre`, or a read when it cannot go now (counted
    /// under its kind in `substitutions`). A step here is the mix's step (at most
    /// [`PAS`], at [`VITESSE`]).
    pub(crate) fn action_de(&mut self, genre: Genre) -> (Envoi, But) {
        let choix = match genre {
            Genre::Deplacer => Some(self.deplacement()),
            Genre::Chat => self.chat(),
            Genre::Economie => self.economie(),
            Genre::Combat => self.partie(Partie::combat_suivant, But::Combat),
            Genre::Echange => self.partie(Partie::echange_suivant, But::Echange),
            Genre::Lecture => None,
        };
        choix.unwrap_or_else(|| {
            if genre != Genre::Lecture {
                *self.stats.substitutions.entry(genre.nom()).or_default() += 1;
            }
            self.lectures += 1;
            let m = if self.lectures.is_multiple_of(2) {
                Methode::Consulter
            } else {
                Methode::Profil
            };
            ((m, json!({ "joueur_id": self.id() })), But::Simple)
        })
    }

    fn deplacement(&mut self) -> (Envoi, But) {
        if self.resynchroniser {
            self.resynchroniser = false;
            return (
                (Methode::Zone, json!({ "joueur_id": self.id() })),
                But::Zone,
            );
        }
        let maintenant = Instant::now();
        let ecoule = self
            .dernier_pas
            .replace(maintenant)
            .map_or(Duration::from_secs(1), |t| maintenant.duration_since(t));
        let pas = (VITESSE * ecoule.as_secs_f64()).min(PAS);
        let (x, y) = self.perso.position;
        let mut nx = x + pas * self.direction;
        if !(2.0..=198.0).contains(&nx) {
            self.direction = -self.direction;
            nx = x + pas * self.direction;
        }
        self.perso.position = (nx, y);
        (
            (
                Methode::Deplacer,
                json!({ "joueur_id": self.id(), "x": nx, "y": y }),
            ),
            But::Deplacement,
        )
    }

    fn chat(&mut self) -> Option<(Envoi, But)> {
        let maintenant = Instant::now();
        while self
            .chats
            .front()
            .is_some_and(|t| maintenant.duration_since(*t) > FENETRE_CHAT)
        {
            self.chats.pop_front();
        }
        if self.chats.len() >= MESSAGES_PAR_FENETRE {
            return None;
        }
        self.chats.push_back(maintenant);
        let texte = format!("bonjour de la charge n°{}", self.suivant);
        Some((
            (
                Methode::Chat,
                json!({ "joueur_id": self.id(), "canal": { "type": "zone" }, "texte": texte }),
            ),
            But::Simple,
        ))
    }

    /// Buy two herbs, brew a potion, sell it back: one step in flight at a time.
    fn economie(&mut self) -> Option<(Envoi, But)> {
        if self.economie_en_vol {
            return None;
        }
        self.economie_en_vol = true;
        let id = self.id();
        let envoi = match self.etape_economie {
            0 => (
                Methode::Acheter,
                json!({ "joueur_id": id, "marchand": "apothicaire_mirabelle", "item": "herbe_medicinale", "quantite": 2 }),
            ),
            1 => (
                Methode::Fabriquer,
                json!({ "joueur_id": id, "recette": "potion_de_soin" }),
            ),
            _ => (
                Methode::Vendre,
                json!({ "joueur_id": id, "marchand": "apothicaire_mirabelle", "item": "potion_de_soin", "quantite": 1 }),
            ),
        };
        Some((envoi, But::Economie))
    }

    fn partie(
        &mut self,
        suivant: impl FnOnce(&mut Partie, usize) -> Option<Envoi>,
        but: But,
    ) -> Option<(Envoi, But)> {
        let (partie, m) = self.perso.partie.as_ref()?;
        let mut p = partie
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        suivant(&mut p, *m).map(|e| (e, but))
    }

    /// Sends `envoi` (due at `prevu`): notes it as awaited, counts how late it goes, and
    /// gives the message to write.
    pub(crate) fn envoyer(
        &mut self,
        ((methode, params), but): (Envoi, But),
        prevu: Instant,
    ) -> Message {
        let id = self.suivant;
        self.suivant += 1;
        let corps =
            json!({ "jsonrpc": "2.0", "id": id, "method": methode.nom(), "params": params });
        self.attentes.insert(
            id,
            Attente {
                methode,
                prevu,
                but,
            },
        );
        self.stats.envoi(prevu.elapsed());
        Message::Text(corps.to_string().into())
    }

    /// Counts the calls still awaited as never answered.
    pub(crate) fn abandonner(&mut self) {
        for attente in self.attentes.values() {
            self.stats.sans_reponse(attente.methode);
        }
        self.attentes.clear();
    }

    /// An answer: its latency and outcome, then what it changes in the game state. Says
    /// what was answered (`None`: not an awaited call).
    pub(crate) fn reponse(&mut self, v: &Value) -> Option<Repondu> {
        let attente = v["id"].as_u64().and_then(|id| self.attentes.remove(&id))?;
        let erreur = v.get("error");
        let resultat = v.get("result");
        let code = erreur.map(|e| e["data"]["code"].as_str().unwrap_or("SANS_CODE"));
        self.stats
            .reponse(attente.methode, attente.prevu.elapsed(), code);
        let repondu = Repondu {
            methode: attente.methode,
            prevu: attente.prevu,
            erreur: erreur.is_some(),
        };
        match attente.but {
            But::Simple | But::Proches => {}
            // A refused step says where the server keeps the character: snap back to it.
            But::Deplacement => match erreur.map(|e| &e["data"]["position"]) {
                None => {}
                Some(p) => match (p["x"].as_f64(), p["y"].as_f64()) {
                    (Some(x), Some(y)) => self.perso.position = (x, y),
                    _ => self.resynchroniser = true,
                },
            },
            But::Zone => {
                if let Some(p) = resultat.map(|r| &r["position"])
                    && let (Some(x), Some(y)) = (p["x"].as_f64(), p["y"].as_f64())
                {
                    self.perso.position = (x, y);
                }
            }
            But::Economie => {
                self.economie_en_vol = false;
                self.etape_economie = if erreur.is_some() {
                    0
                } else {
                    (self.etape_economie + 1) % 3
                };
            }
            But::Combat | But::Echange => {
                if let Some((partie, m)) = &self.perso.partie {
                    let mut p = partie
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if matches!(attente.but, But::Combat) {
                        p.combat_reponse(*m, attente.methode, resultat, erreur);
                    } else {
                        p.echange_reponse(*m, attente.methode, resultat, erreur);
                    }
                }
            }
        }
        Some(repondu)
    }
}

/// Counts a push by its method without parsing it whole: the server writes compact JSON
/// with sorted keys, so a notification starts with `{"jsonrpc"` and names its method next.
/// The moves of a `monde.deplacements` batch are counted too, under [`POSITIONS_RECUES`]
/// (each entry's object opens on its first key, `joueur_id`).
/// Counts the pushes a frame carries, by method, and the positions in `monde.deplacements`;
/// false for an answer.
fn pousse(stats: &mut Stats, texte: &str) -> bool {
    let Some(poussees) = crate::lecture::poussees(texte) else {
        return false;
    };
    for p in poussees {
        let methode = p.method.unwrap_or("?");
        stats.pousses(methode, 1);
        if methode == "monde.deplacements" {
            stats.pousses(POSITIONS_RECUES, p.positions());
        }
    }
    true
}

/// The pseudo-method under which the moves inside the received batches are counted.
pub(crate) const POSITIONS_RECUES: &str = "positions (dans monde.deplacements)";

/// Plays one player until the end of its calendar (and the grace for late answers); a
/// player without a character only holds its socket open and counts what it receives.
pub(crate) async fn jouer(
    flux: Flux,
    perso: Option<Personnage>,
    calendrier: Calendrier,
    graine: u64,
) -> Stats {
    let (mut ecrivain, mut lecteur) = flux.split();
    let (envois, mut a_envoyer) = mpsc::unbounded_channel::<Message>();
    let ecriture = tokio::spawn(async move {
        while let Some(m) = a_envoyer.recv().await {
            if ecrivain.send(m).await.is_err() {
                break;
            }
        }
        let _ = ecrivain.close().await;
    });
    let actif = perso.is_some();
    let mut etat = JoueurVirtuel::new(
        perso.unwrap_or(Personnage {
            joueur_id: String::new(),
            position: (100.0, 100.0),
            partie: None,
        }),
        graine,
    );
    let mut prochain = calendrier.debut;
    let limite = calendrier.fin + GRACE;
    loop {
        let planifier = actif && prochain < calendrier.fin;
        if !planifier && Instant::now() >= calendrier.fin && etat.rien_en_vol() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until(prochain), if planifier => {
                let prevu = prochain;
                prochain += calendrier.intervalle;
                let envoi = etat.action(&calendrier.melange);
                if envois.send(etat.envoyer(envoi, prevu)).is_err() {
                    break;
                }
            }
            () = tokio::time::sleep_until(limite) => break,
            () = tokio::time::sleep_until(calendrier.fin), if !planifier && !actif => break,
            recu = lecteur.next() => match recu {
                Some(Ok(Message::Text(texte))) => {
                    if !pousse(&mut etat.stats, &texte)
                        && let Ok(v) = serde_json::from_str::<Value>(&texte)
                    {
                        etat.reponse(&v);
                    }
                }
                Some(Ok(Message::Close(trame))) => {
                    let code = trame.map_or(1005, |t| u16::from(t.code));
                    *etat.stats.fermetures.entry(code).or_default() += 1;
                    break;
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    *etat.stats.fermetures.entry(1006).or_default() += 1;
                    break;
                }
            },
        }
    }
    etat.abandonner();
    drop(envois);
    let _ = ecriture.await;
    etat.stats
}

/// One call during the set-up (not measured): sends it and reads until its answer, skipping
/// pushes. The result, or the error object.
pub(crate) async fn appel(
    flux: &mut Flux,
    id: u64,
    methode: &str,
    params: Value,
) -> anyhow::Result<Result<Value, Value>> {
    let corps = json!({ "jsonrpc": "2.0", "id": id, "method": methode, "params": params });
    flux.send(Message::Text(corps.to_string().into())).await?;
    loop {
        let message = tokio::time::timeout(Duration::from_mins(1), flux.next())
            .await
            .map_err(|_| anyhow::anyhow!("{methode} : pas de réponse en 60 s"))?
            .ok_or_else(|| anyhow::anyhow!("{methode} : socket fermée"))??;
        let Message::Text(texte) = message else {
            continue;
        };
        let mut v: Value = serde_json::from_str(&texte)?;
        if v["id"].as_u64() == Some(id) {
            return Ok(match v.get_mut("error") {
                Some(e) => Err(e.take()),
                None => Ok(v["result"].take()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_melange_se_lit_et_tire_selon_ses_poids() {
        let m: Melange = "deplacer=3,lecture=1".parse().expect("mélange");
        assert_eq!(m.tirer(0), Genre::Deplacer);
        assert_eq!(m.tirer(2), Genre::Deplacer);
        assert_eq!(m.tirer(3), Genre::Lecture);
        assert!("deplacer=0".parse::<Melange>().is_err());
        assert!("voler=3".parse::<Melange>().is_err());
    }

    #[test]
    fn une_pousse_se_compte_par_sa_methode() {
        let mut s = Stats::default();
        assert!(pousse(
            &mut s,
            r#"{"jsonrpc":"2.0","method":"chat.message","params":{}}"#
        ));
        assert!(pousse(
            &mut s,
            r#"{"jsonrpc":"2.0","method":"monde.deplacements","params":{"deplacements":[{"joueur_id":"a","nom":"A"},{"joueur_id":"b","nom":"B"}],"zone":"plaine_verte"}}"#
        ));
        assert!(!pousse(&mut s, r#"{"id":3,"jsonrpc":"2.0","result":{}}"#));
        assert_eq!(s.pousses["chat.message"], 1);
        assert_eq!(s.pousses["monde.deplacements"], 1);
        assert_eq!(s.pousses[POSITIONS_RECUES], 2);
    }
}
