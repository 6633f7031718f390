//! `/ws`: JSON-RPC over WebSocket, with pushes. The token comes with the upgrade
//! (`/ws?jeton=...`) or by a first `session.authentifier` within 10 s. The server pings every
//! 15 s and closes a socket it has not heard from in 45 s; a socket closes when its token
//! expires unless a fresh one was given by `session.authentifier`; its outgoing queue is
//! bounded and a socket that lets it fill is closed. Browsers must come from an allowed
//! Origin.
//!
//! Pushes leave grouped: a push waits up to `FENETRE_POUSSEES` for those behind it, and they
//! go in one frame, a JSON array of notifications ([`grouper`]); answers go at once. A socket
//! plays the characters its calls acted for: their world pushes come to it (`Sockets`).
//!
//! A socket keeps its player's characters present in their zones (a sign of life at each
//! ping); when the account's last socket on this instance closes, their positions are
//! written to PostgreSQL and their presence dropped.
//!
//! Close codes: 1001 server stopping, 1002 a frame outside the protocol, 1007 text that is
//! not UTF-8, 1009 message too big, 4401 not authenticated (in time) or token expired, 4403
//! account banned, 4408 silent too long, 4410 kicked by a game master, 4429 too slow to read
//! its messages. A banned account's token is refused at the upgrade (403 `COMPTE_BANNI`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until};
use uuid::Uuid;

use crate::auth::{Authentifie, JetonRefuse};
use crate::config::limites::{
    FENETRE_POUSSEES, FILE_SORTANTE, POUSSEES_PAR_TRAME, TAILLE_MESSAGE, TAILLE_TRAME_GROUPEE,
    TAMPON_LECTURE_WS,
};
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, reponse_erreur};
use crate::rpc::{self, Contexte, Transport};
use crate::sockets::{Abonnement, Motif};

const PING: Duration = Duration::from_secs(15);
const SILENCE_MAX: Duration = Duration::from_secs(45);
const AUTHENTIFICATION_MAX: Duration = Duration::from_secs(10);
const ECRITURE_MAX: Duration = Duration::from_secs(10);

/// The upgrade's query.
#[derive(Debug, Deserialize)]
pub struct ParamsWs {
    /// The access token, if given with the upgrade.
    jeton: Option<String>,
}

/// Upgrades to a WebSocket after checking the Origin and the token, if any.
pub async fn ouvrir(
    State(passerelle): State<Arc<Passerelle>>,
    ConnectInfo(pair): ConnectInfo<SocketAddr>,
    Query(params): Query<ParamsWs>,
    entetes: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(origine) = entetes.get(header::ORIGIN)
        && !passerelle.origines.iter().any(|o| o == origine)
    {
        return refus(
            StatusCode::FORBIDDEN,
            "ORIGINE_REFUSEE",
            "origine non admise",
        );
    }
    let auth = match params
        .jeton
        .as_deref()
        .map(|j| passerelle.jetons.verifier(j))
    {
        None => None,
        Some(Ok(a)) if passerelle.revocations.en_vigueur(a.compte_id).is_some() => {
            return refus(StatusCode::FORBIDDEN, "COMPTE_BANNI", "compte banni");
        }
        Some(Ok(a)) => Some(a),
        Some(Err(JetonRefuse::Expire)) => {
            return refus(
                StatusCode::UNAUTHORIZED,
                "JETON_EXPIRE",
                "jeton d'accès expiré",
            );
        }
        Some(Err(JetonRefuse::Invalide)) => {
            return refus(
                StatusCode::UNAUTHORIZED,
                "JETON_INVALIDE",
                "jeton d'accès invalide",
            );
        }
    };
    // Written at once, message by message (no write buffer to fill first): the outgoing
    // queue already batches, and an idle socket then holds no write buffer.
    ws.max_message_size(TAILLE_MESSAGE)
        .max_frame_size(TAILLE_MESSAGE)
        .read_buffer_size(TAMPON_LECTURE_WS)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            passerelle.metriques.sockets(1);
            Session::new(&passerelle, pair.ip(), auth)
                .mener(socket)
                .await;
            passerelle.metriques.sockets(-1);
        })
}

fn refus(statut: StatusCode, code: &str, message: &str) -> Response {
    (
        statut,
        axum::Json(serde_json::json!({ "erreur": { "code": code, "message": message } })),
    )
        .into_response()
}

/// Why the server closes a socket.
#[derive(Debug, Clone, Copy)]
enum Fin {
    /// The client closed, or the connection dropped.
    Client,
    Arret,
    TropGrand,
    /// A frame outside the protocol (reserved opcode or bits, unmasked, a continuation out of
    /// place, an oversized or fragmented control frame...).
    Protocole,
    /// A text message that is not UTF-8.
    PasUtf8,
    NonAuthentifie,
    JetonExpire,
    Silence,
    TropLent,
    /// A game master banned the account.
    Banni,
    /// A game master kicked the account.
    Expulse,
}

impl From<Motif> for Fin {
    fn from(m: Motif) -> Self {
        match m {
            Motif::Banni => Self::Banni,
            Motif::Expulse => Self::Expulse,
        }
    }
}

impl Fin {
    /// Its label on `/metrics` (`mmo_websockets_fermees`).
    const fn nom(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Arret => "arret",
            Self::TropGrand => "trop_grand",
            Self::Protocole => "protocole",
            Self::PasUtf8 => "pas_utf8",
            Self::NonAuthentifie => "non_authentifie",
            Self::JetonExpire => "jeton_expire",
            Self::Silence => "silence",
            Self::TropLent => "trop_lent",
            Self::Banni => "banni",
            Self::Expulse => "expulse",
        }
    }

    fn trame(self) -> Option<CloseFrame> {
        let (code, raison) = match self {
            Self::Client => return None,
            Self::Arret => (1001, "arrêt du serveur"),
            Self::TropGrand => (1009, "message trop grand"),
            Self::Protocole => (1002, "trame hors protocole"),
            Self::PasUtf8 => (1007, "texte qui n'est pas de l'UTF-8"),
            Self::NonAuthentifie => (4401, "authentification attendue"),
            Self::JetonExpire => (4401, "jeton expiré"),
            Self::Silence => (4408, "pas de nouvelles du client"),
            Self::TropLent => (4429, "client trop lent à lire ses messages"),
            Self::Banni => (4403, "compte banni"),
            Self::Expulse => (4410, "expulsé par un modérateur"),
        };
        Some(CloseFrame {
            code,
            reason: raison.into(),
        })
    }
}

struct Session<'e> {
    passerelle: &'e Passerelle,
    ctx: Contexte,
    file: mpsc::Sender<Arc<str>>,
    sortants: mpsc::Receiver<Arc<str>>,
    /// The first push of the next frame, and when that frame goes: [`FENETRE_POUSSEES`]
    /// after the push came (at once for one that did not fit in the last frame).
    en_attente: Option<(Arc<str>, Instant)>,
    /// A push taken from the queue that did not fit in the frame being written.
    reportee: Option<Arc<str>>,
    trop_lent: Arc<Notify>,
    abonnement: Option<Abonnement>,
}

impl<'e> Session<'e> {
    fn new(passerelle: &'e Passerelle, ip: IpAddr, auth: Option<Authentifie>) -> Self {
        let (file, sortants) = mpsc::channel(FILE_SORTANTE);
        let mut s = Self {
            passerelle,
            ctx: Contexte {
                auth: None,
                refus: None,
                ip,
                id_requete: Uuid::new_v4(),
                transport: Transport::WebSocket,
                joueur: None,
            },
            file,
            sortants,
            en_attente: None,
            reportee: None,
            trop_lent: Arc::new(Notify::new()),
            abonnement: None,
        };
        s.authentifiee(auth);
        s
    }

    /// Takes a (new) authentication into account: subscribes the socket to its account's
    /// pushes the first time.
    fn authentifiee(&mut self, auth: Option<Authentifie>) {
        self.ctx.auth = auth;
        if let (Some(a), None) = (auth, &self.abonnement) {
            self.abonnement = Some(self.passerelle.sockets.abonner(
                a.compte_id.uuid(),
                self.file.clone(),
                Arc::clone(&self.trop_lent),
            ));
        }
    }

    fn echeance(&self, ouverture: Instant) -> (Instant, Fin) {
        match self.ctx.auth {
            None => (ouverture + AUTHENTIFICATION_MAX, Fin::NonAuthentifie),
            Some(a) => {
                let reste = (a.expire_a - chrono::Utc::now())
                    .to_std()
                    .unwrap_or_default();
                (Instant::now() + reste, Fin::JetonExpire)
            }
        }
    }

    async fn mener(mut self, mut socket: WebSocket) {
        let ouverture = Instant::now();
        let mut arret = self.passerelle.arret.clone();
        let mut ping = tokio::time::interval_at(ouverture + PING, PING);
        let mut entendu = Instant::now();
        let fin = loop {
            let (echeance, fin_echeance) = self.echeance(ouverture);
            let depart = self.en_attente.as_ref().map(|(_, t)| *t);
            let evenement = tokio::select! {
                biased;
                _ = arret.changed() => break Fin::Arret,
                () = self.trop_lent.notified() => break Fin::TropLent,
                motif = conge(self.abonnement.as_ref()) => break Fin::from(motif),
                () = sleep_until(echeance) => break fin_echeance,
                _ = ping.tick() => {
                    if entendu.elapsed() > SILENCE_MAX {
                        break Fin::Silence;
                    }
                    self.signe_de_vie();
                    Message::Ping(axum::body::Bytes::from_static(b"mmo"))
                }
                () = sleep_until(depart.unwrap_or(echeance)), if depart.is_some() => {
                    let Some((premiere, _)) = self.en_attente.take() else { continue };
                    let trame = grouper(&premiere, &mut self.sortants, &mut self.reportee);
                    if let Some(r) = self.reportee.take() {
                        self.en_attente = Some((r, Instant::now()));
                    }
                    Message::Text(trame.into())
                }
                Some(texte) = self.sortants.recv(), if depart.is_none() => {
                    self.en_attente = Some((texte, Instant::now() + FENETRE_POUSSEES));
                    continue;
                }
                recu = socket.recv() => {
                    entendu = Instant::now();
                    match recu {
                        None | Some(Ok(Message::Close(_))) => break Fin::Client,
                        Some(Err(e)) => break Fin::de_l_erreur(&e),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Binary(_))) => {
                            let e = ErreurRpc::requete_invalide("messages texte (JSON) seulement");
                            Message::Text(reponse_erreur(serde_json::Value::Null, &e).to_string().into())
                        }
                        Some(Ok(Message::Text(texte))) => match self.repondre(texte.as_bytes()).await {
                            Some(reponse) => Message::Text(reponse.into()),
                            None => continue,
                        },
                    }
                }
            };
            match tokio::time::timeout(ECRITURE_MAX, socket.send(evenement)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break Fin::Client,
                Err(_) => break Fin::TropLent,
            }
        };
        self.passerelle.metriques.socket_fermee(fin.nom());
        if let Some(trame) = fin.trame() {
            tracing::debug!(?fin, ip = %self.ctx.ip, "fermeture de la socket");
            let fermeture = socket.send(Message::Close(Some(trame)));
            let _ = tokio::time::timeout(Duration::from_secs(1), fermeture).await;
        }
        self.quitter_le_monde().await;
    }

    /// While the socket lives, its characters stay present in their zones (Service Monde's
    /// presence expires without a sign of life). In its own task: the socket does not wait
    /// for Redis.
    fn signe_de_vie(&self) {
        let Some(a) = self.ctx.auth else { return };
        let joueurs = self.passerelle.presences.joueurs_du_compte(a.compte_id);
        if joueurs.is_empty() {
            return;
        }
        let monde = self.passerelle.monde.clone();
        tokio::spawn(async move {
            if let Err(e) = monde.signaler_presence(&joueurs).await {
                tracing::warn!(erreur = %e, "présence non signalée");
            }
        });
    }

    /// When the account's last socket on this instance closes, its characters' positions are
    /// written to PostgreSQL. Their presence expires on its own: another instance may still
    /// hold a socket of the account and keep it alive.
    async fn quitter_le_monde(&mut self) {
        drop(self.abonnement.take());
        let Some(a) = self.ctx.auth else { return };
        if self.passerelle.sockets.connecte(a.compte_id.uuid()) {
            return;
        }
        let joueurs = self.passerelle.presences.retirer_compte(a.compte_id);
        if joueurs.is_empty() {
            return;
        }
        if let Err(e) = self.passerelle.monde.quitter(&joueurs).await {
            tracing::warn!(erreur = %e, "positions non écrites à la fermeture de la socket");
        }
    }

    async fn repondre(&mut self, corps: &[u8]) -> Option<String> {
        self.ctx.id_requete = Uuid::new_v4();
        let avant = self.ctx.auth;
        let reponse = rpc::traiter(self.passerelle, &mut self.ctx, corps).await;
        if self.ctx.auth != avant {
            let auth = self.ctx.auth;
            self.authentifiee(auth);
        }
        if let (Some(joueur), Some(abonnement)) = (self.ctx.joueur.take(), &self.abonnement) {
            abonnement.jouer(joueur);
        }
        reponse.map(|r| r.to_string())
    }
}

/// Until a game master sends the socket away (never for a socket not yet authenticated).
async fn conge(abonnement: Option<&Abonnement>) -> Motif {
    match abonnement {
        Some(a) => a.conge().await,
        None => std::future::pending().await,
    }
}

impl Fin {
    /// Why a receive failed. axum hides tungstenite's error type, so its message is what
    /// tells: "Space limit exceeded: Message too long: ...", "WebSocket protocol error: ...",
    /// "UTF-8 encoding error: ..."; anything else (I/O) is the connection gone.
    fn de_l_erreur(e: &axum::Error) -> Self {
        let texte = e.to_string();
        if texte.contains("Space limit exceeded") {
            Self::TropGrand
        } else if texte.contains("protocol error") {
            Self::Protocole
        } else if texte.contains("UTF-8") {
            Self::PasUtf8
        } else {
            Self::Client
        }
    }
}

/// A push and those queued behind it in `file`, in one frame: alone as it is, several as a
/// JSON array of notifications (a JSON-RPC batch), up to [`POUSSEES_PAR_TRAME`] pushes and
/// [`TAILLE_TRAME_GROUPEE`] bytes. The session calls it [`FENETRE_POUSSEES`] after the first
/// push came, the pushes that came meanwhile queued behind it: each frame is a send on the
/// network and a wake-up of the reader, and one frame per push made the sends the server's
/// largest cost under load (doc/performance.md, « Le monde en foule »). A push taken that
/// would not fit is left in `reportee`, the next frame's first.
fn grouper(
    premiere: &str,
    file: &mut mpsc::Receiver<Arc<str>>,
    reportee: &mut Option<Arc<str>>,
) -> String {
    let mut lot: Option<String> = None;
    let mut n = 1;
    while n < POUSSEES_PAR_TRAME {
        let taille = lot.as_ref().map_or(premiere.len(), String::len);
        let Ok(suivante) = file.try_recv() else {
            break;
        };
        if taille + suivante.len() + 2 > TAILLE_TRAME_GROUPEE {
            // Too large to join: it goes in the next frame, first.
            *reportee = Some(suivante);
            break;
        }
        let l = lot.get_or_insert_with(|| {
            let mut l = String::with_capacity(2 * premiere.len() + suivante.len() + 2);
            l.push('[');
            l.push_str(premiere);
            l
        });
        l.push(',');
        l.push_str(&suivante);
        n += 1;
    }
    match lot {
        Some(mut l) => {
            l.push(']');
            l
        }
        None => premiere.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaque_fin_a_son_etiquette_exposee_des_le_depart() {
        let fins = [
            Fin::Client,
            Fin::Arret,
            Fin::TropGrand,
            Fin::Protocole,
            Fin::PasUtf8,
            Fin::NonAuthentifie,
            Fin::JetonExpire,
            Fin::Silence,
            Fin::TropLent,
            Fin::Banni,
            Fin::Expulse,
        ];
        for fin in fins {
            assert!(
                crate::metriques::RAISONS_DE_FERMETURE.contains(&fin.nom()),
                "{fin:?}"
            );
        }
        assert_eq!(fins.len(), crate::metriques::RAISONS_DE_FERMETURE.len());
    }

    #[test]
    fn les_poussees_en_attente_partent_en_une_trame_sans_depasser_sa_taille() {
        let (tx, mut rx) = mpsc::channel::<Arc<str>>(16);
        let mut reportee = None;
        // Alone: as it is.
        assert_eq!(grouper(r#"{"a":1}"#, &mut rx, &mut reportee), r#"{"a":1}"#);
        // Queued behind: one JSON array, in order.
        for m in [r#"{"b":2}"#, r#"{"c":3}"#] {
            tx.try_send(Arc::from(m)).expect("file");
        }
        let trame = grouper(r#"{"a":1}"#, &mut rx, &mut reportee);
        assert_eq!(trame, r#"[{"a":1},{"b":2},{"c":3}]"#);
        let v: serde_json::Value = serde_json::from_str(&trame).expect("JSON");
        assert_eq!(v.as_array().map(Vec::len), Some(3));
        // One that would make the frame too large waits for the next frame, first.
        let grosse: Arc<str> =
            Arc::from(format!(r#"{{"x":"{}"}}"#, "x".repeat(TAILLE_TRAME_GROUPEE)));
        tx.try_send(Arc::clone(&grosse)).expect("file");
        tx.try_send(Arc::from(r#"{"d":4}"#)).expect("file");
        assert_eq!(grouper(r#"{"a":1}"#, &mut rx, &mut reportee), r#"{"a":1}"#);
        assert_eq!(reportee.as_deref(), Some(&*grosse));
        let suivante = reportee.take().expect("reportée");
        assert_eq!(
            grouper(&suivante, &mut rx, &mut reportee),
            *grosse,
            "trop grosse pour partager une trame : seule"
        );
        assert_eq!(reportee.take().as_deref(), Some(r#"{"d":4}"#));
        // At most POUSSEES_PAR_TRAME per frame.
        let (tx, mut rx) = mpsc::channel::<Arc<str>>(2 * POUSSEES_PAR_TRAME);
        for _ in 0..2 * POUSSEES_PAR_TRAME {
            tx.try_send(Arc::from("{}")).expect("file");
        }
        let trame = grouper("{}", &mut rx, &mut reportee);
        let v: serde_json::Value = serde_json::from_str(&trame).expect("JSON");
        assert_eq!(v.as_array().map(Vec::len), Some(POUSSEES_PAR_TRAME));
    }
}
