//! One character of the crowd on its own socket. Until the start it only reads (and drops)
//! what its socket receives, so that the pushes of the placements do not pile up; then it
//! looks at its zone (`monde.zone`) and plays on several open-loop timers: a step every
//! 1/`--pas-par-seconde` s ([`super::marche`]), and, on jittered timers (each interval drawn
//! between half and one and a half of its mean, the first at a random phase), a game action
//! (combat, economy, trade: what its zone and party allow), a zone chat line, a read and,
//! on a sampled socket, a check of its picture of its neighbours ([`super::image`]). Every
//! latency counts from the call's intended time. Its measures are recorded into the shared
//! figures every second.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::carte::Zone;
use super::image::{Controle, Image};
use super::marche::Marche;
use crate::hasard::Hasard;
use crate::joueur::{But, Flux, GRACE, Genre, JoueurVirtuel, POSITIONS_RECUES, Personnage};
use crate::lecture::poussees;
use crate::partie::{Envoi, Partie};
use crate::stats::{Methode, Stats};

/// How often a character's measures go into the shared figures.
const VIDANGE: Duration = Duration::from_secs(1);
/// A character still walks at the end if a step due this long before the end was accepted.
const MARCHE_FINALE: Duration = Duration::from_secs(2);
/// How stale a neighbour's position may be in a picture, on top of the round trip
/// (doc/protocole.md, `monde.deplacements`): a tick until the move is published, a tick until
/// it is delivered, and the socket's window for grouping pushes, 100 ms each.
const TICK: Duration = Duration::from_millis(300);
/// Metres allowed on top of what a neighbour can walk meanwhile.
const MARGE: f64 = 1.0;
/// How long after the start a sampled socket waits before its first check.
const PREMIER_CONTROLE: Duration = Duration::from_secs(2);

/// The crowd's pace, the same for every character.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rythme {
    /// Between two steps.
    pub(crate) pas: Duration,
    /// Metres per step.
    pub(crate) longueur: f64,
    /// Steps between two random turns, on average.
    pub(crate) pas_par_virage: f64,
    /// Mean time between two game actions (`None`: none).
    pub(crate) action: Option<Duration>,
    /// Mean time between two chat lines.
    pub(crate) chat: Option<Duration>,
    /// Mean time between two reads.
    pub(crate) lecture: Option<Duration>,
    /// Mean time between two checks of a sampled socket.
    pub(crate) controle: Option<Duration>,
    /// The checks' radius, metres.
    pub(crate) rayon: f64,
    /// The server's maximum speed, m/s.
    pub(crate) vitesse_max: f64,
}

/// What a character is told at the start.
#[derive(Debug)]
pub(crate) struct Depart {
    /// Its first step is due after this (its steps' phase is random within one interval).
    pub(crate) debut: Instant,
    /// Nothing is sent at or after this.
    pub(crate) fin: Instant,
    /// Its zone.
    pub(crate) zone: Arc<Zone>,
    /// Where it was placed.
    pub(crate) position: (f64, f64),
    /// Its party and its place in it.
    pub(crate) partie: Option<(Arc<Mutex<Partie>>, usize)>,
    /// Whether the tool's encounter and merchant stand in its zone (combat and economy).
    pub(crate) actions_ici: bool,
    /// Whether its picture of its neighbours is kept and checked.
    pub(crate) echantillon: bool,
}

/// What one character brings back, besides the shared figures.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bilan {
    /// Positions received in `monde.deplacements` during the schedule.
    pub(crate) positions: u64,
    /// `monde.deplacements` messages received during the schedule.
    pub(crate) lots: u64,
    /// Placed, its socket open at the end and its steps still accepted.
    pub(crate) tenu: bool,
    /// Its picture's checks (a sampled socket).
    pub(crate) controle: Controle,
    /// Whether it was a sampled socket.
    pub(crate) echantillon: bool,
    /// Neighbours in its picture at the end (a sampled socket).
    pub(crate) image: usize,
    /// The server closed its socket.
    pub(crate) ferme: bool,
}

/// A jittered timer: each interval between half and one and a half of its mean.
#[derive(Debug, Clone, Copy)]
struct Minuterie {
    prochain: Instant,
    moyenne: Duration,
}

impl Minuterie {
    /// The first due at a random phase within one mean interval after `debut`.
    fn new(debut: Instant, moyenne: Option<Duration>, hasard: &mut Hasard) -> Option<Self> {
        let moyenne = moyenne?;
        Some(Self {
            prochain: debut + moyenne.mul_f64(hasard.uniforme()),
            moyenne,
        })
    }

    /// If due by `maintenant` (and before `fin`): its intended time, the next one drawn.
    fn echue(
        this: &mut Option<Self>,
        maintenant: Instant,
        fin: Instant,
        hasard: &mut Hasard,
    ) -> Option<Instant> {
        let m = this.as_mut()?;
        if m.prochain > maintenant || m.prochain >= fin {
            return None;
        }
        let prevu = m.prochain;
        m.prochain += m.moyenne.mul_f64(0.5 + hasard.uniforme());
        Some(prevu)
    }

    fn prochain(this: Option<&Self>) -> Option<Instant> {
        this.map(|m| m.prochain)
    }
}

/// Until `depart` comes, reads and drops what the socket receives. If the socket closes
/// first, its close code (`None`: the start never came).
async fn attendre(
    flux: &mut Flux,
    depart: oneshot::Receiver<Depart>,
) -> Result<Depart, Option<u16>> {
    let mut depart = std::pin::pin!(depart);
    loop {
        tokio::select! {
            d = &mut depart => return d.map_err(|_| None),
            recu = flux.next() => match recu {
                Some(Ok(Message::Close(trame))) => {
                    return Err(Some(trame.map_or(1005, |t| u16::from(t.code))));
                }
                Some(Err(_)) | None => return Err(Some(1006)),
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The game action due now: drawn among what the character's zone and party allow.
fn action_de_jeu(etat: &mut JoueurVirtuel, depart: &Depart, hasard: &mut Hasard) -> (Envoi, But) {
    let mut genres = Vec::with_capacity(3);
    if depart.actions_ici {
        genres.push(Genre::Economie);
        if depart.partie.is_some() {
            genres.push(Genre::Combat);
        }
    }
    if depart.partie.is_some() {
        genres.push(Genre::Echange);
    }
    if genres.is_empty() {
        *etat.stats.substitutions.entry("action").or_default() += 1;
        return etat.action_de(Genre::Lecture);
    }
    let genre = genres[hasard.suivant() as usize % genres.len()];
    etat.action_de(genre)
}

/// A character's state during the run: its player, its walk, its timers, its picture.
struct Promeneur {
    etat: JoueurVirtuel,
    hasard: Hasard,
    marche: Marche,
    image: Option<Image>,
    depart: Depart,
    rythme: Rythme,
    pas: Instant,
    action: Option<Minuterie>,
    chat: Option<Minuterie>,
    lecture: Option<Minuterie>,
    controle: Option<Minuterie>,
    dernier_pas_accepte: Option<Instant>,
    bilan: Bilan,
}

impl Promeneur {
    fn new(joueur_id: String, depart: Depart, rythme: Rythme, graine: u64) -> Self {
        let mut hasard = Hasard::new(graine.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut etat = JoueurVirtuel::new(
            Personnage {
                joueur_id,
                position: depart.position,
                partie: depart.partie.clone(),
            },
            graine,
        );
        etat.stats = Stats::tamponnee();
        let marche = Marche::new(
            &depart.zone,
            rythme.longueur,
            rythme.pas_par_virage,
            &mut hasard,
        );
        let debut = depart.debut;
        Self {
            image: depart.echantillon.then(|| Image::new(etat.id())),
            bilan: Bilan {
                echantillon: depart.echantillon,
                ..Bilan::default()
            },
            pas: debut + rythme.pas.mul_f64(hasard.uniforme()),
            action: Minuterie::new(debut, rythme.action, &mut hasard),
            chat: Minuterie::new(debut, rythme.chat, &mut hasard),
            lecture: Minuterie::new(debut, rythme.lecture, &mut hasard),
            controle: Minuterie::new(
                debut + PREMIER_CONTROLE,
                rythme.controle.filter(|_| depart.echantillon),
                &mut hasard,
            ),
            dernier_pas_accepte: None,
            etat,
            hasard,
            marche,
            depart,
            rythme,
        }
    }

    /// When the next call is due (`fin` if none is before it).
    fn prochain(&self) -> Instant {
        [
            Some(self.pas),
            Minuterie::prochain(self.action.as_ref()),
            Minuterie::prochain(self.chat.as_ref()),
            Minuterie::prochain(self.lecture.as_ref()),
            Minuterie::prochain(self.controle.as_ref()),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.depart.fin)
        .min(self.depart.fin)
    }

    /// The calls due by `maintenant`, with their intended times. Open loop: every step due is
    /// sent, late ones at once.
    fn echus(&mut self, maintenant: Instant) -> Vec<((Envoi, But), Instant)> {
        let fin = self.depart.fin;
        let mut envois = Vec::new();
        while self.pas <= maintenant && self.pas < fin {
            let la = self.marche.pas(self.etat.perso.position, &mut self.hasard);
            self.etat.perso.position = la;
            let params = json!({ "joueur_id": self.etat.id(), "x": la.0, "y": la.1 });
            envois.push((((Methode::Deplacer, params), But::Deplacement), self.pas));
            self.pas += self.rythme.pas;
        }
        let h = &mut self.hasard;
        if let Some(prevu) = Minuterie::echue(&mut self.action, maintenant, fin, h) {
            envois.push((action_de_jeu(&mut self.etat, &self.depart, h), prevu));
        }
        if let Some(prevu) = Minuterie::echue(&mut self.chat, maintenant, fin, h) {
            envois.push((self.etat.action_de(Genre::Chat), prevu));
        }
        if let Some(prevu) = Minuterie::echue(&mut self.lecture, maintenant, fin, h) {
            envois.push((self.etat.action_de(Genre::Lecture), prevu));
        }
        if let Some(prevu) = Minuterie::echue(&mut self.controle, maintenant, fin, h) {
            let params = json!({ "joueur_id": self.etat.id(), "rayon": self.rythme.rayon });
            envois.push((((Methode::Proches, params), But::Proches), prevu));
        }
        envois
    }

    /// A text message: a push (counted during the schedule; into the picture of a sampled
    /// socket) or an answer.
    fn recu(&mut self, texte: &str) {
        if let Some(poussees) = poussees(texte) {
            let maintenant = Instant::now();
            if maintenant >= self.depart.debut && maintenant < self.depart.fin {
                for e in &poussees {
                    let methode = e.method.unwrap_or("?");
                    self.etat.stats.pousses(methode, 1);
                    if methode == "monde.deplacements" {
                        let n = e.positions();
                        self.etat.stats.pousses(POSITIONS_RECUES, n);
                        self.bilan.positions += n;
                        self.bilan.lots += 1;
                    }
                }
            }
            if let Some(image) = &mut self.image
                && poussees
                    .iter()
                    .any(|e| e.method.is_some_and(|m| m.starts_with("monde.")))
                && let Ok(v) = serde_json::from_str::<Value>(texte)
            {
                let une = [v];
                let liste = match &une[0] {
                    Value::Array(l) => l.as_slice(),
                    _ => &une[..],
                };
                for p in liste {
                    if let Some(methode) = p["method"].as_str()
                        && methode.starts_with("monde.")
                    {
                        image.pousse(methode, &p["params"]);
                    }
                }
            }
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(texte) else {
            return;
        };
        let Some(r) = self.etat.reponse(&v) else {
            return;
        };
        match (r.methode, r.erreur, &mut self.image) {
            (Methode::Deplacer, false, _) => {
                self.dernier_pas_accepte = self.dernier_pas_accepte.max(Some(r.prevu));
            }
            (Methode::Zone, false, Some(image)) => image.depuis_zone(&v["result"]),
            (Methode::Proches, false, Some(image)) => {
                let retard = r.prevu.elapsed() + TICK;
                let tolerance = self.rythme.vitesse_max * retard.as_secs_f64() + MARGE;
                self.bilan
                    .controle
                    .ajouter(&image.comparer(&v["result"], tolerance));
            }
            _ => {}
        }
    }

    /// A closed socket.
    fn ferme(&mut self, code: u16) {
        *self.etat.stats.fermetures.entry(code).or_default() += 1;
        self.bilan.ferme = true;
    }

    /// Its measures into the shared figures.
    fn vider(&mut self, commun: &Mutex<Stats>) {
        self.etat.stats.vider_dans(
            &mut commun
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }

    /// The end: unanswered calls counted, its measures recorded, what it brings back.
    fn terminer(mut self, commun: &Mutex<Stats>) -> Bilan {
        self.etat.abandonner();
        self.vider(commun);
        let fin = self.depart.fin;
        let mut bilan = self.bilan;
        bilan.image = self.image.as_ref().map_or(0, Image::len);
        bilan.tenu = !bilan.ferme
            && self
                .dernier_pas_accepte
                .is_some_and(|t| t + MARCHE_FINALE >= fin);
        bilan
    }
}

/// Plays character `joueur_id` on `flux` from the start it is sent until the end of its
/// schedule (and the grace for late answers), recording into `commun`.
pub(crate) async fn promener(
    mut flux: Flux,
    joueur_id: String,
    depart: oneshot::Receiver<Depart>,
    rythme: Rythme,
    commun: Arc<Mutex<Stats>>,
    graine: u64,
) -> Bilan {
    let depart = match attendre(&mut flux, depart).await {
        Ok(d) => d,
        Err(code) => {
            if let Some(code) = code {
                let mut commun = commun
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *commun.fermetures.entry(code).or_default() += 1;
            }
            return Bilan::default();
        }
    };
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
    let fin = depart.fin;
    let mut p = Promeneur::new(joueur_id, depart, rythme, graine);
    let zone = (
        (Methode::Zone, json!({ "joueur_id": p.etat.id() })),
        But::Zone,
    );
    let _ = envois.send(p.etat.envoyer(zone, Instant::now()));
    let mut vidange = Instant::now() + VIDANGE;
    let limite = fin + GRACE;
    'course: loop {
        let prochain = p.prochain();
        let planifier = prochain < fin;
        if !planifier && Instant::now() >= fin && p.etat.rien_en_vol() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until(prochain), if planifier => {
                for (envoi, prevu) in p.echus(Instant::now()) {
                    if envois.send(p.etat.envoyer(envoi, prevu)).is_err() {
                        break 'course;
                    }
                }
            }
            () = tokio::time::sleep_until(vidange) => {
                vidange += VIDANGE;
                p.vider(&commun);
            }
            () = tokio::time::sleep_until(limite) => break,
            recu = lecteur.next() => match recu {
                Some(Ok(Message::Text(texte))) => p.recu(&texte),
                Some(Ok(Message::Close(trame))) => {
                    p.ferme(trame.map_or(1005, |t| u16::from(t.code)));
                    break;
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    p.ferme(1006);
                    break;
                }
            },
        }
    }
    let bilan = p.terminer(&commun);
    drop(envois);
    let _ = ecriture.await;
    bilan
}
