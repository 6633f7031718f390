//! The diffusion: moves and chat messages fanned out to every gateway instance over NATS
//! (doc/monde_chat.md). The instance that handles a move or a message publishes it once on a
//! plain NATS subject of the bus (`diffusion.monde.<zone>.<cx_cy>`, `diffusion.chat.<canal>`),
//! with who should receive it; every instance, the publisher included, subscribes to
//! `diffusion.>` and pushes it to its own [`Sockets`].
//!
//! "The players in a zone" and "the players who see a cell" are answered by each instance for
//! its own sockets: [`Presences`] indexes the characters whose players hold a socket here, by
//! zone and interest cell (`domain::interet`), as they look at, move in or change zone through
//! this instance (or are seen changing cell through another); a character leaves the index on
//! a zone change or when its player's last socket here closes.
//!
//! Moves are batched per tick ([`TICK_DEPLACEMENTS`]) and per cell (interest management,
//! doc/monde_chat.md « Intérêt »): an instance notes each move in its [`Deplacements`] (the
//! latest position of a character wins, with the cell it stood in when the tick began if it
//! changed cell) and, once per tick, publishes one batch per cell, split if larger than NATS
//! takes. Each instance derives from a batch's arrivals and departures its players'
//! `monde.apparitions` and `monde.disparitions` at once, and keeps its moves in its
//! [`Livraisons`]: once per tick, each character indexed here gets one `monde.deplacements`
//! with the moves of the cells it sees, written by copying each cell's entries, serialized
//! once. A socket's cost thus grows with its neighbours, one message per tick: zone-wide
//! batches made it grow with the zone, one push per move to every socket of its zone made
//! the fan-out grow as the square of the players in a zone, and one push per cell made it
//! nine messages per tick (doc/performance.md).
//!
//! NATS gives at-most-once delivery on plain subjects: a push lost to a disconnection is not
//! replayed. The history (`chat.historique`) and the zone view (`monde.zone`) are how a client
//! catches up.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commands::bus::Bus;
use commands::services::chat::Destinataires;
use commands::services::monde::ChangementCellule;
use domain::ids::{CompteId, JoueurId};
use domain::interet::Cellule;
use domain::valeurs::CodeZone;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use crate::protocole::monde::{Apercu, Apparitions, Disparitions};
use crate::protocole::notification;
use crate::sockets::Sockets;

/// The subjects every instance listens to, under the bus's prefix.
pub const SUJETS: &str = "diffusion.>";

/// What travels on the bus: a notification and who receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diffusion {
    /// Who receives it.
    pub destinataires: Destinataires,
    /// The notification's method (`monde.deplacements`, `chat.message`).
    pub methode: String,
    /// Its params.
    pub params: Value,
    /// For a cell's batch of moves: who entered or left the cell, from which each receiving
    /// instance derives its players' `monde.apparitions` and `monde.disparitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Transitions>,
}

/// The characters that entered or left a cell during a tick.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transitions {
    /// Entered the cell: their `monde.deplacements` entry, and the cell they came from in the
    /// same zone (`None`: from elsewhere, a portal or a first look).
    pub arrivees: Vec<(Option<Cellule>, Apercu)>,
    /// Left the cell: who, and the cell they went to in the same zone (`None`: they left the
    /// zone).
    pub departs: Vec<(JoueurId, Option<Cellule>)>,
}

/// This instance's index of the characters present in each zone and cell, for the players
/// who hold a socket here: who watches which part of a zone.
#[derive(Debug, Default)]
pub struct Presences {
    carte: Mutex<CartePresences>,
}

#[derive(Debug, Default)]
struct CartePresences {
    par_joueur: HashMap<JoueurId, (CodeZone, Cellule, CompteId)>,
    par_cellule: HashMap<CodeZone, HashMap<Cellule, HashSet<JoueurId>>>,
}

impl CartePresences {
    fn retirer(&mut self, joueur_id: JoueurId) {
        let Some((zone, cellule, _)) = self.par_joueur.remove(&joueur_id) else {
            return;
        };
        let Some(cases) = self.par_cellule.get_mut(&zone) else {
            return;
        };
        if let Some(ici) = cases.get_mut(&cellule) {
            ici.remove(&joueur_id);
            if ici.is_empty() {
                cases.remove(&cellule);
            }
        }
        if cases.is_empty() {
            self.par_cellule.remove(&zone);
        }
    }
}

impl Presences {
    fn carte(&self) -> std::sync::MutexGuard<'_, CartePresences> {
        self.carte
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The character stands in `cellule` of `zone` (leaving any other).
    pub fn entrer(&self, joueur_id: JoueurId, zone: CodeZone, cellule: Cellule, compte: CompteId) {
        let mut carte = self.carte();
        carte.retirer(joueur_id);
        carte
            .par_cellule
            .entry(zone.clone())
            .or_default()
            .entry(cellule)
            .or_default()
            .insert(joueur_id);
        carte.par_joueur.insert(joueur_id, (zone, cellule, compte));
    }

    /// Moves an indexed character to `cellule` of `zone`; a character not indexed here stays
    /// so (its player holds no socket here).
    fn suivre(&self, joueur_id: JoueurId, zone: &CodeZone, cellule: Cellule) {
        let compte = match self.carte().par_joueur.get(&joueur_id) {
            Some((z, c, _)) if z == zone && *c == cellule => return,
            Some((_, _, compte)) => *compte,
            None => return,
        };
        self.entrer(joueur_id, zone.clone(), cellule, compte);
    }

    /// The characters of `zone` that see `cellule` (theirs or a neighbour), with their cell
    /// and account.
    pub fn spectateurs(
        &self,
        zone: &CodeZone,
        cellule: Cellule,
    ) -> Vec<(JoueurId, Cellule, CompteId)> {
        let carte = self.carte();
        let mut vus = Vec::new();
        let Some(cases) = carte.par_cellule.get(zone) else {
            return vus;
        };
        for c in cellule.aire() {
            for j in cases.get(&c).into_iter().flatten() {
                if let Some((_, ici, compte)) = carte.par_joueur.get(j) {
                    vus.push((*j, *ici, *compte));
                }
            }
        }
        vus
    }

    /// The accounts with a character in `zone`.
    pub fn comptes_dans(&self, zone: &CodeZone) -> HashSet<Uuid> {
        self.carte()
            .par_joueur
            .values()
            .filter(|(z, _, _)| z == zone)
            .map(|(_, _, c)| c.uuid())
            .collect()
    }

    /// The account's characters indexed here.
    pub fn joueurs_du_compte(&self, compte: CompteId) -> Vec<JoueurId> {
        self.carte()
            .par_joueur
            .iter()
            .filter(|(_, (_, _, c))| *c == compte)
            .map(|(j, _)| *j)
            .collect()
    }

    /// Forgets the account's characters (its last socket here closed); which they were.
    pub fn retirer_compte(&self, compte: CompteId) -> Vec<JoueurId> {
        let mut carte = self.carte();
        let partis: Vec<JoueurId> = carte
            .par_joueur
            .iter()
            .filter(|(_, (_, _, c))| *c == compte)
            .map(|(j, _)| *j)
            .collect();
        for j in &partis {
            carte.retirer(*j);
        }
        partis
    }
}

/// How often the moves of a zone are published, batched: 10 per second, as many MMO servers
/// tick. A move reaches the other players at most this much later.
pub const TICK_DEPLACEMENTS: Duration = Duration::from_millis(100);

/// The world's tick, every [`TICK_DEPLACEMENTS`] until `arret`; a late tick is not caught up.
struct Tick {
    intervalle: tokio::time::Interval,
    arret: watch::Receiver<bool>,
}

impl Tick {
    fn new(arret: watch::Receiver<bool>) -> Self {
        let mut intervalle = tokio::time::interval(TICK_DEPLACEMENTS);
        intervalle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { intervalle, arret }
    }

    /// Waits for the next tick: false once `arret` changed.
    async fn suivant(&mut self) -> bool {
        tokio::select! {
            _ = self.intervalle.tick() => true,
            _ = self.arret.changed() => false,
        }
    }
}

/// A character's move during the current tick.
#[derive(Debug)]
struct Mouvement {
    zone: CodeZone,
    cellule: Cellule,
    entree: Apercu,
    /// Whether it changed cell during the tick, and from which cell it stood in when the
    /// tick began.
    origine: ChangementCellule,
}

/// One cell's moves of a tick as they travel between instances (the params of a
/// `monde.deplacements` diffusion): each receiving instance delivers them to its players in
/// the `monde.deplacements` of each character that sees the cell ([`Livraisons`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LotCellule {
    zone: CodeZone,
    cellule: Cellule,
    deplacements: Vec<Apercu>,
}

/// One cell's batch for a tick: the entries of those standing in it, who entered, who left.
#[derive(Debug, Default)]
struct Lot {
    deplacements: Vec<Apercu>,
    transitions: Transitions,
}

/// The moves this instance handled since the last tick: the latest `monde.deplacements`
/// entry of each character that moved, with the cell it stood in when the tick began if it
/// changed cell.
#[derive(Debug, Default)]
pub struct Deplacements {
    par_joueur: Mutex<HashMap<JoueurId, Mouvement>>,
}

impl Deplacements {
    /// Notes that `joueur_id` now stands in `cellule` of `zone` as `entree`, replacing an
    /// older entry of the same tick; `changement` says whether it changed cell, and whence.
    pub fn noter(
        &self,
        zone: &CodeZone,
        cellule: Cellule,
        joueur_id: JoueurId,
        entree: Apercu,
        changement: ChangementCellule,
    ) {
        let mut carte = self
            .par_joueur
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The first change of the tick says where it came from.
        let origine = match carte.remove(&joueur_id).map(|m| m.origine) {
            Some(ChangementCellule::Depuis(d)) => ChangementCellule::Depuis(d),
            _ => changement,
        };
        carte.insert(
            joueur_id,
            Mouvement {
                zone: zone.clone(),
                cellule,
                entree,
                origine,
            },
        );
    }

    /// Takes the moves noted so far, as one batch per cell.
    fn vider(&self) -> HashMap<(CodeZone, Cellule), Lot> {
        let carte = std::mem::take(
            &mut *self
                .par_joueur
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut lots: HashMap<(CodeZone, Cellule), Lot> = HashMap::new();
        for (joueur_id, m) in carte {
            if let ChangementCellule::Depuis(origine) = m.origine {
                let meme_zone = |o: &(CodeZone, Cellule)| o.0 == m.zone;
                if origine.as_ref() != Some(&(m.zone.clone(), m.cellule)) {
                    if let Some((zone, cellule)) = &origine {
                        let vers = (zone == &m.zone).then_some(m.cellule);
                        lots.entry((zone.clone(), *cellule))
                            .or_default()
                            .transitions
                            .departs
                            .push((joueur_id, vers));
                    }
                    let depuis = origine.filter(meme_zone).map(|(_, c)| c);
                    lots.entry((m.zone.clone(), m.cellule))
                        .or_default()
                        .transitions
                        .arrivees
                        .push((depuis, m.entree.clone()));
                }
            }
            lots.entry((m.zone, m.cellule))
                .or_default()
                .deplacements
                .push(m.entree);
        }
        lots
    }

    /// Every [`TICK_DEPLACEMENTS`], publishes one `monde.deplacements` per cell with the moves
    /// noted since the last tick, until `arret`.
    pub async fn publier_periodiquement(self: Arc<Self>, bus: Bus, arret: watch::Receiver<bool>) {
        let mut tick = Tick::new(arret);
        while tick.suivant().await {
            for ((zone, cellule), lot) in self.vider() {
                let sujet = format!("diffusion.monde.{}.{cellule}", zone.as_str());
                for diffusion in lot_en_diffusions(&zone, cellule, lot, max_payload(&bus)) {
                    publier(&bus, &sujet, &diffusion).await;
                }
            }
        }
    }
}

/// The largest message NATS takes, with room for the subject and headers.
fn max_payload(bus: &Bus) -> usize {
    bus.client()
        .server_info()
        .max_payload
        .saturating_sub(1024)
        .max(4096)
}

/// A cell's batch as diffusions no larger than `max` bytes each: split in halves until each
/// fits, never dropped (a single entry is always far below any NATS limit).
fn lot_en_diffusions(zone: &CodeZone, cellule: Cellule, lot: Lot, max: usize) -> Vec<Diffusion> {
    let Lot {
        deplacements,
        transitions,
    } = lot;
    let params = LotCellule {
        zone: zone.clone(),
        cellule,
        deplacements,
    };
    let diffusion = Diffusion {
        destinataires: Destinataires::Aire {
            zone: zone.clone(),
            cellule,
        },
        methode: METHODE_DEPLACEMENTS.into(),
        params: serde_json::to_value(&params).unwrap_or_default(),
        transitions: (!transitions.arrivees.is_empty() || !transitions.departs.is_empty())
            .then(|| transitions.clone()),
    };
    let taille = serde_json::to_vec(&diffusion).map_or(0, |c| c.len());
    let n = params.deplacements.len() + transitions.arrivees.len() + transitions.departs.len();
    if taille <= max || n <= 1 {
        return vec![diffusion];
    }
    let (mut a, mut b) = (Lot::default(), Lot::default());
    let mut deplacements = params.deplacements;
    let moitie = deplacements.len() / 2;
    b.deplacements = deplacements.split_off(moitie);
    a.deplacements = deplacements;
    let Transitions {
        mut arrivees,
        mut departs,
    } = transitions;
    b.transitions.arrivees = arrivees.split_off(arrivees.len() / 2);
    a.transitions.arrivees = arrivees;
    b.transitions.departs = departs.split_off(departs.len() / 2);
    a.transitions.departs = departs;
    let mut tout = lot_en_diffusions(zone, cellule, a, max);
    tout.extend(lot_en_diffusions(zone, cellule, b, max));
    tout
}

/// How long a publish may wait on NATS before the push is dropped.
pub const PUBLICATION_MAX: Duration = Duration::from_secs(1);

/// Pushes dropped because NATS refused them or did not take them in time.
pub static DIFFUSIONS_PERDUES: AtomicU64 = AtomicU64::new(0);

/// Publishes a notification for every instance to push. A failure is logged and counted
/// ([`DIFFUSIONS_PERDUES`]): a push is best effort, the command it reports has succeeded, and
/// a NATS outage must not hold its answer, hence the [`PUBLICATION_MAX`] bound.
pub async fn publier(bus: &Bus, sujet: &str, diffusion: &Diffusion) {
    let corps = match serde_json::to_vec(diffusion) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(erreur = %e, "diffusion illisible");
            return;
        }
    };
    let publication = bus.client().publish(bus.sujet(sujet), corps.into());
    match tokio::time::timeout(PUBLICATION_MAX, publication).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            DIFFUSIONS_PERDUES.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(erreur = %e, sujet, "diffusion non publiée");
        }
        Err(_) => {
            DIFFUSIONS_PERDUES.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                sujet,
                "diffusion abandonnée : NATS ne l'a pas prise à temps"
            );
        }
    }
}

/// Subscribes to the fan-out subjects, and waits until NATS has the subscription: pushes
/// published once this returns reach this instance.
pub async fn abonner(bus: &Bus) -> anyhow::Result<async_nats::Subscriber> {
    let abonne = bus.client().subscribe(bus.sujet(SUJETS)).await?;
    bus.client().flush().await?;
    Ok(abonne)
}

/// Pushes every fanned-out notification to this instance's sockets, until `arret`. If the
/// subscription ends (NATS lost for good), subscribes again.
pub async fn suivre(
    bus: Bus,
    mut abonne: async_nats::Subscriber,
    sockets: Arc<Sockets>,
    presences: Arc<Presences>,
    livraisons: Arc<Livraisons>,
    mut arret: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            m = abonne.next() => m,
            _ = arret.changed() => return,
        };
        if let Some(m) = message {
            pousser(&m.payload, &sockets, &presences, &livraisons);
            continue;
        }
        tracing::warn!("abonnement aux diffusions perdu, reprise");
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = arret.changed() => return,
        }
        match abonner(&bus).await {
            Ok(a) => abonne = a,
            Err(e) => tracing::warn!(erreur = %e, "réabonnement aux diffusions"),
        }
    }
}

fn pousser(corps: &[u8], sockets: &Sockets, presences: &Presences, livraisons: &Livraisons) {
    let diffusion: Diffusion = match serde_json::from_slice(corps) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(erreur = %e, "diffusion illisible ignorée");
            return;
        }
    };
    if let (Destinataires::Aire { zone, cellule }, Some(transitions)) =
        (&diffusion.destinataires, &diffusion.transitions)
    {
        annoncer_transitions(zone, *cellule, transitions, sockets, presences);
    }
    if diffusion.methode == METHODE_DEPLACEMENTS {
        match serde_json::from_value::<LotCellule>(diffusion.params) {
            Ok(lot) => livraisons.recevoir(lot),
            Err(e) => tracing::warn!(erreur = %e, "lot de déplacements illisible ignoré"),
        }
        return;
    }
    // Serialized once, whoever receives it.
    let message: Arc<str> = notification(&diffusion.methode, diffusion.params)
        .to_string()
        .into();
    match diffusion.destinataires {
        Destinataires::Tous => sockets.pousser_a_tous(&message),
        Destinataires::Zone { zone } => {
            sockets.pousser(&presences.comptes_dans(&zone), &message);
        }
        Destinataires::Comptes { comptes } => {
            let comptes = comptes.iter().map(|c| c.uuid()).collect();
            sockets.pousser(&comptes, &message);
        }
        Destinataires::Aire { zone, cellule } => {
            let comptes = presences
                .spectateurs(&zone, cellule)
                .into_iter()
                .map(|(_, _, c)| c.uuid())
                .collect();
            sockets.pousser(&comptes, &message);
        }
    }
}

/// The method of a tick's moves, between instances (one cell's) and to players (one
/// character's area).
const METHODE_DEPLACEMENTS: &str = "monde.deplacements";

/// The cells' moves this instance received since its last delivery, each cell's entries
/// serialized once as a JSON fragment (an array's inside, entries in the order received: of
/// two entries of one character, the later is the newer). Every [`TICK_DEPLACEMENTS`], each
/// character indexed here gets one `monde.deplacements` with the fragments of the cells it
/// sees: a socket receives one message per tick, whatever the number of cells around it, and
/// building it copies bytes, it serializes nothing.
#[derive(Debug, Default)]
pub struct Livraisons {
    recus: Mutex<HashMap<(CodeZone, Cellule), String>>,
}

impl Livraisons {
    fn recus(&self) -> std::sync::MutexGuard<'_, HashMap<(CodeZone, Cellule), String>> {
        self.recus
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps a cell's moves for the next delivery.
    fn recevoir(&self, lot: LotCellule) {
        if lot.deplacements.is_empty() {
            return;
        }
        let mut fragment = String::new();
        for entree in &lot.deplacements {
            if let Ok(json) = serde_json::to_string(entree) {
                if !fragment.is_empty() {
                    fragment.push(',');
                }
                fragment.push_str(&json);
            }
        }
        let mut recus = self.recus();
        let deja = recus.entry((lot.zone, lot.cellule)).or_default();
        if !deja.is_empty() {
            deja.push(',');
        }
        deja.push_str(&fragment);
    }

    /// Delivers what was received since the last call: one `monde.deplacements` per character
    /// here that sees a cell with moves.
    fn livrer(&self, sockets: &Sockets, presences: &Presences) {
        let recus = std::mem::take(&mut *self.recus());
        let mut par_spectateur: HashMap<JoueurId, (CompteId, &CodeZone, Vec<&str>)> =
            HashMap::new();
        for ((zone, cellule), fragment) in &recus {
            for (spectateur, _, compte) in presences.spectateurs(zone, *cellule) {
                par_spectateur
                    .entry(spectateur)
                    .or_insert_with(|| (compte, zone, Vec::new()))
                    .2
                    .push(fragment);
            }
        }
        for (spectateur, (compte, zone, fragments)) in par_spectateur {
            let message = lot_du_spectateur(spectateur, zone, &fragments);
            sockets.pousser_au_personnage(compte.uuid(), spectateur, &message.into());
        }
    }

    /// Every [`TICK_DEPLACEMENTS`], delivers the moves received, until `arret`.
    pub async fn livrer_periodiquement(
        self: Arc<Self>,
        sockets: Arc<Sockets>,
        presences: Arc<Presences>,
        arret: watch::Receiver<bool>,
    ) {
        let mut tick = Tick::new(arret);
        while tick.suivant().await {
            self.livrer(&sockets, &presences);
        }
    }
}

/// One character's `monde.deplacements` (`LotDeplacements` on the wire), written from its
/// cells' fragments.
fn lot_du_spectateur(spectateur: JoueurId, zone: &CodeZone, fragments: &[&str]) -> String {
    let taille: usize = fragments.iter().map(|f| f.len() + 1).sum();
    let mut message = String::with_capacity(taille + 160);
    message.push_str(r#"{"jsonrpc":"2.0","method":""#);
    message.push_str(METHODE_DEPLACEMENTS);
    message.push_str(r#"","params":{"joueur_id":""#);
    message.push_str(&spectateur.to_string());
    message.push_str(r#"","zone":"#);
    // A zone code is a slug; written through serde all the same.
    message.push_str(&serde_json::to_string(zone.as_str()).unwrap_or_default());
    message.push_str(r#","deplacements":["#);
    for (i, f) in fragments.iter().enumerate() {
        if i > 0 {
            message.push(',');
        }
        message.push_str(f);
    }
    message.push_str("]}}");
    message
}

/// Tells each character here that sees `cellule` who entered its area through it
/// (`monde.apparitions`) and who left its area from it (`monde.disparitions`): an arrival
/// from a cell it already saw, or a departure to a cell it still sees, changes nothing for it.
/// The index follows the characters of this instance that changed cell through another one.
fn annoncer_transitions(
    zone: &CodeZone,
    cellule: Cellule,
    transitions: &Transitions,
    sockets: &Sockets,
    presences: &Presences,
) {
    for (_, entree) in &transitions.arrivees {
        presences.suivre(entree.joueur_id, zone, cellule);
    }
    for (spectateur, ici, compte) in presences.spectateurs(zone, cellule) {
        let apparitions: Vec<Apercu> = transitions
            .arrivees
            .iter()
            .filter(|(depuis, entree)| {
                depuis.is_none_or(|d| !ici.voit(d)) && entree.joueur_id != spectateur
            })
            .map(|(_, entree)| entree.clone())
            .collect();
        let disparitions: Vec<JoueurId> = transitions
            .departs
            .iter()
            .filter(|(j, vers)| *j != spectateur && vers.is_none_or(|v| !ici.voit(v)))
            .map(|(j, _)| *j)
            .collect();
        if !apparitions.is_empty() {
            let params = serde_json::to_value(Apparitions {
                joueur_id: spectateur,
                zone: zone.clone(),
                apparitions,
            })
            .unwrap_or_default();
            sockets.pousser_au_personnage(
                compte.uuid(),
                spectateur,
                &notification("monde.apparitions", params).to_string().into(),
            );
        }
        if !disparitions.is_empty() {
            let params = serde_json::to_value(Disparitions {
                joueur_id: spectateur,
                zone: zone.clone(),
                disparitions,
            })
            .unwrap_or_default();
            sockets.pousser_au_personnage(
                compte.uuid(),
                spectateur,
                &notification("monde.disparitions", params)
                    .to_string()
                    .into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocole::monde::LotDeplacements;

    fn zone(code: &str) -> CodeZone {
        CodeZone::parse(code).expect("zone")
    }

    fn joueur(n: u64) -> JoueurId {
        JoueurId::from_uuid(Uuid::from_u64_pair(2, n))
    }

    const C00: Cellule = Cellule { cx: 0, cy: 0 };
    const C10: Cellule = Cellule { cx: 1, cy: 0 };
    const C30: Cellule = Cellule { cx: 3, cy: 0 };

    fn apercu(joueur_id: JoueurId, x: f64) -> Apercu {
        Apercu {
            joueur_id,
            nom: "x".repeat(20),
            zone: zone("plaine_verte"),
            position: domain::valeurs::Position::parse(x, 1.0).expect("position"),
            classe: None,
        }
    }

    #[test]
    fn un_tick_garde_la_derniere_position_de_chaque_personnage_dans_sa_case() {
        let d = Deplacements::default();
        let plaine = zone("plaine_verte");
        let (alice, bruno) = (joueur(1), joueur(2));
        d.noter(
            &plaine,
            C00,
            alice,
            apercu(alice, 1.0),
            ChangementCellule::Aucun,
        );
        d.noter(
            &plaine,
            C00,
            bruno,
            apercu(bruno, 5.0),
            ChangementCellule::Aucun,
        );
        d.noter(
            &plaine,
            C00,
            alice,
            apercu(alice, 2.0),
            ChangementCellule::Aucun,
        );
        let tick = d.vider();
        assert_eq!(tick.len(), 1);
        let lot = &tick[&(plaine, C00)];
        assert_eq!(lot.deplacements.len(), 2);
        assert!(lot.deplacements.contains(&apercu(alice, 2.0)));
        assert!(lot.transitions.arrivees.is_empty() && lot.transitions.departs.is_empty());
        assert!(d.vider().is_empty(), "un tick vidé ne repart pas");
    }

    #[test]
    fn un_changement_de_case_part_de_la_case_du_debut_du_tick() {
        let d = Deplacements::default();
        let plaine = zone("plaine_verte");
        let alice = joueur(1);
        d.noter(
            &plaine,
            C10,
            alice,
            apercu(alice, 50.0),
            ChangementCellule::Depuis(Some((plaine.clone(), C00))),
        );
        d.noter(
            &plaine,
            C30,
            alice,
            apercu(alice, 150.0),
            ChangementCellule::Depuis(Some((plaine.clone(), C10))),
        );
        let tick = d.vider();
        assert!(
            !tick.contains_key(&(plaine.clone(), C10)),
            "la case traversée n'est pas dite"
        );
        assert_eq!(
            tick[&(plaine.clone(), C00)].transitions.departs,
            vec![(alice, Some(C30))]
        );
        let arrivee = &tick[&(plaine, C30)];
        assert_eq!(arrivee.transitions.arrivees.len(), 1);
        assert_eq!(arrivee.transitions.arrivees[0].0, Some(C00));
    }

    #[test]
    fn un_portail_part_de_l_ancienne_zone_et_arrive_de_nulle_part() {
        let d = Deplacements::default();
        let (plaine, foret) = (zone("plaine_verte"), zone("foret_sombre"));
        let alice = joueur(1);
        d.noter(
            &foret,
            C00,
            alice,
            apercu(alice, 10.0),
            ChangementCellule::Depuis(Some((plaine.clone(), C30))),
        );
        let tick = d.vider();
        assert_eq!(
            tick[&(plaine, C30)].transitions.departs,
            vec![(alice, None)]
        );
        assert_eq!(tick[&(foret, C00)].transitions.arrivees[0].0, None);
    }

    #[test]
    fn un_lot_trop_gros_est_coupe_sans_rien_perdre() {
        let plaine = zone("plaine_verte");
        let mut lot = Lot::default();
        for i in 0..1000 {
            lot.deplacements.push(apercu(joueur(i), (i % 200) as f64));
        }
        lot.transitions.departs.push((joueur(5000), None));
        let diffusions = lot_en_diffusions(&plaine, C00, lot, 8 * 1024);
        assert!(diffusions.len() > 1);
        let mut total = 0;
        for d in &diffusions {
            assert!(serde_json::to_vec(d).expect("json").len() <= 8 * 1024);
            total += d.params["deplacements"].as_array().map_or(0, Vec::len);
        }
        assert_eq!(total, 1000);
        let departs: usize = diffusions
            .iter()
            .map(|d| d.transitions.as_ref().map_or(0, |t| t.departs.len()))
            .sum();
        assert_eq!(departs, 1);
    }

    #[test]
    fn un_personnage_est_dans_une_seule_case_a_la_fois() {
        let p = Presences::default();
        let (plaine, foret) = (zone("plaine_verte"), zone("foret_sombre"));
        let compte = CompteId::from_uuid(Uuid::from_u64_pair(1, 1));
        let alice = joueur(1);
        p.entrer(alice, plaine.clone(), C00, compte);
        assert_eq!(p.comptes_dans(&plaine), HashSet::from([compte.uuid()]));
        assert_eq!(
            p.spectateurs(&plaine, C10).len(),
            1,
            "la case voisine la voit"
        );
        assert!(
            p.spectateurs(&plaine, C30).is_empty(),
            "la case lointaine non"
        );
        p.suivre(alice, &plaine, C30);
        assert!(p.spectateurs(&plaine, C00).is_empty());
        assert_eq!(p.spectateurs(&plaine, C30).len(), 1);
        p.entrer(alice, foret.clone(), C00, compte);
        assert!(p.comptes_dans(&plaine).is_empty());
        assert_eq!(p.retirer_compte(compte), vec![alice]);
        assert!(p.comptes_dans(&foret).is_empty());
        assert!(p.spectateurs(&foret, C00).is_empty());
    }

    #[tokio::test]
    async fn chaque_spectateur_recoit_un_seul_lot_par_tick_avec_les_cases_qu_il_voit() {
        let plaine = zone("plaine_verte");
        let sockets = Arc::new(Sockets::default());
        let presences = Presences::default();
        let livraisons = Livraisons::default();
        let compte = |n| CompteId::from_uuid(Uuid::from_u64_pair(1, n));
        let mut files = Vec::new();
        let mut abonnements = Vec::new();
        // Alice in 0_0 sees 0_0 and 1_0; Bruno in 3_0 sees neither; Chloé in 1_0 sees both.
        for (n, cellule) in [(1, C00), (2, C30), (3, C10)] {
            let (tx, rx) = tokio::sync::mpsc::channel(16);
            abonnements.push(sockets.abonner(
                compte(n).uuid(),
                tx,
                Arc::new(tokio::sync::Notify::new()),
            ));
            files.push(rx);
            presences.entrer(joueur(n), plaine.clone(), cellule, compte(n));
        }
        let lot = |cellule, entrees: Vec<Apercu>| LotCellule {
            zone: plaine.clone(),
            cellule,
            deplacements: entrees,
        };
        livraisons.recevoir(lot(C00, vec![apercu(joueur(1), 1.0)]));
        livraisons.recevoir(lot(C10, vec![apercu(joueur(3), 60.0)]));
        // A second batch of the same cell in the same tick (another instance's): appended.
        livraisons.recevoir(lot(
            C00,
            vec![apercu(joueur(1), 2.0), apercu(joueur(9), 3.0)],
        ));
        livraisons.recevoir(lot(C30, Vec::new()));
        livraisons.livrer(&sockets, &presences);

        let lu = |message: Arc<str>| -> LotDeplacements {
            let v: Value = serde_json::from_str(&message).expect("JSON");
            assert_eq!(v["method"], "monde.deplacements");
            serde_json::from_value(v["params"].clone()).expect("LotDeplacements")
        };
        let alice = lu(files[0].try_recv().expect("un lot pour Alice"));
        assert!(files[0].try_recv().is_err(), "un seul par tick");
        assert_eq!(alice.joueur_id, joueur(1));
        assert_eq!(alice.zone, plaine);
        let mut vus: Vec<(JoueurId, f64)> = alice
            .deplacements
            .iter()
            .map(|a| (a.joueur_id, a.position.x()))
            .collect();
        vus.sort_by(|a, b| a.1.total_cmp(&b.1));
        assert_eq!(
            vus,
            vec![
                (joueur(1), 1.0),
                (joueur(1), 2.0),
                (joueur(9), 3.0),
                (joueur(3), 60.0)
            ]
        );
        let ordre: Vec<f64> = alice
            .deplacements
            .iter()
            .filter(|a| a.joueur_id == joueur(1))
            .map(|a| a.position.x())
            .collect();
        assert_eq!(ordre, vec![1.0, 2.0], "la plus récente en dernier");
        assert!(
            files[1].try_recv().is_err(),
            "Bruno ne voit aucune de ces cases"
        );
        let chloe = lu(files[2].try_recv().expect("un lot pour Chloé"));
        assert_eq!(chloe.joueur_id, joueur(3));
        assert_eq!(chloe.deplacements.len(), 4);

        livraisons.livrer(&sockets, &presences);
        assert!(
            files[0].try_recv().is_err(),
            "rien de nouveau, rien d'envoyé"
        );
    }
}
