//! The steady load the faults strike: each virtual player trades gold with the next one, buys,
//! crafts, sells, destroys and moves, over `POST /rpc`, at a fixed rate. Every command
//! carries an `id_commande` chosen here and is sent again with the same id until it gets an
//! answer — the way a client must retry — so that the journal knows which commands were
//! acknowledged. One command in eight is sent twice at once, as a client that retries too
//! early would. With several gateway instances, sends go to each in turn (the two sends of a
//! twin pair to two instances), and a send the transport failed goes to the next one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

/// The gateway instances the load goes through: each send goes to the next one in turn, and a
/// send that failed on the way is sent again to the next one — what a load balancer in front
/// of several instances does. One instance for the faults of the machine.
#[derive(Debug)]
pub(crate) struct Passerelles {
    bases: Vec<String>,
    suivante: AtomicUsize,
}

impl Passerelles {
    /// The instances at these `http://127.0.0.1:<port>` bases.
    pub(crate) fn new(bases: Vec<String>) -> Arc<Self> {
        Arc::new(Self {
            bases,
            suivante: AtomicUsize::new(0),
        })
    }

    /// The base the next send goes to.
    pub(crate) fn prochaine(&self) -> &str {
        let i = self.suivante.fetch_add(1, Ordering::Relaxed);
        &self.bases[i % self.bases.len()]
    }

    /// Every instance.
    pub(crate) fn toutes(&self) -> &[String] {
        &self.bases
    }
}

/// A character the load plays, with its account's token.
#[derive(Debug, Clone)]
pub(crate) struct Acteur {
    pub(crate) jeton: String,
    pub(crate) joueur_id: Uuid,
}

/// How a command ended for the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Issue {
    /// A result: the command is done.
    Acquittee(Value),
    /// A documented refusal (`data.code`): nothing to retry.
    Refusee(String),
    /// No answer before the client gave up: it may or may not have been applied (at most
    /// once).
    Abandonnee,
    /// An answer no client can act on: `ERREUR_INTERNE` (a fault of the server, never what an
    /// engine's outage may answer: that is `INDISPONIBLE`), or an HTTP error other than 502,
    /// 503 or 504. It fails the run.
    Erreur(String),
}

/// One command of the journal.
#[derive(Debug, Clone)]
pub(crate) struct Entree {
    pub(crate) id_commande: Uuid,
    pub(crate) methode: &'static str,
    pub(crate) params: Value,
    pub(crate) issue: Issue,
    /// When the client got its answer.
    pub(crate) fin: Instant,
    /// The same, on the machine's clock, which PostgreSQL's commit times also read: the
    /// restore drill compares it with the moment restored.
    pub(crate) repondu_le: DateTime<Utc>,
    /// When its first send left, on the machine's clock: it cannot have been applied before.
    pub(crate) parti_le: DateTime<Utc>,
    /// Why each resend was needed (empty: the first send was answered).
    pub(crate) renvois: Vec<String>,
}

/// Everything the load did, shared by its players.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    pub(crate) entrees: Vec<Entree>,
    /// Twin sends of one id, and how each ended.
    pub(crate) jumeaux: Vec<(Uuid, Issue, Issue)>,
}

/// Commands that write to the event store when they succeed.
pub(crate) const ECRITURES: &[&str] = &[
    "inventaire.acheter",
    "inventaire.vendre",
    "inventaire.fabriquer",
    "inventaire.jeter",
    "echange.proposer",
    "echange.accepter",
    "echange.annuler",
    "joueur.creer",
];

/// How long a client keeps retrying one command before it gives up.
const PATIENCE_COMMANDE: Duration = Duration::from_mins(1);

/// Sends one command until it gets an answer: a result or a refusal. Retries on transport
/// errors (no connection, no answer in time, 502, 503, 504) and on the errors the protocol
/// says to retry (`INDISPONIBLE`, `CONFLIT`, `TROP_DE_REQUETES`); never on `ERREUR_INTERNE`,
/// which ends it as an [`Issue::Erreur`]. Returns how it ended and why each resend was needed.
pub(crate) async fn envoyer(
    http: &reqwest::Client,
    passerelles: &Passerelles,
    jeton: &str,
    methode: &'static str,
    params: Value,
) -> (Issue, Vec<String>) {
    let corps = json!({"jsonrpc": "2.0", "id": 1, "method": methode, "params": params});
    let fin = Instant::now() + PATIENCE_COMMANDE;
    let mut renvois = Vec::new();
    let mut attente = Duration::from_millis(20);
    loop {
        let reponse = http
            .post(format!("{}/rpc", passerelles.prochaine()))
            .bearer_auth(jeton)
            .json(&corps)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let motif = match reponse {
            Err(e) if e.is_timeout() => "délai".to_owned(),
            Err(_) => "connexion".to_owned(),
            Ok(r) if matches!(r.status().as_u16(), 502..=504) => {
                format!("HTTP {}", r.status().as_u16())
            }
            Ok(r) if !r.status().is_success() => {
                return (
                    Issue::Erreur(format!("HTTP {}", r.status().as_u16())),
                    renvois,
                );
            }
            Ok(r) => match r.json::<Value>().await {
                Err(_) => "réponse illisible".to_owned(),
                Ok(v) => {
                    if let Some(resultat) = v.get("result") {
                        return (Issue::Acquittee(resultat.clone()), renvois);
                    }
                    let code = v["error"]["data"]["code"].as_str().unwrap_or("?");
                    match code {
                        "INDISPONIBLE" | "CONFLIT" | "TROP_DE_REQUETES" => code.to_owned(),
                        "ERREUR_INTERNE" => {
                            return (Issue::Erreur(v["error"].to_string()), renvois);
                        }
                        _ => return (Issue::Refusee(code.to_owned()), renvois),
                    }
                }
            },
        };
        renvois.push(motif);
        if Instant::now() + attente > fin {
            return (Issue::Abandonnee, renvois);
        }
        tokio::time::sleep(attente).await;
        attente = (attente * 2).min(Duration::from_millis(500));
    }
}

/// A player of the load: its character, the partner it trades with, where it is in its round.
pub(crate) struct Joueur {
    pub(crate) moi: Acteur,
    pub(crate) partenaire: Acteur,
    /// xorshift state: the same seed plays the same choices.
    hasard: u64,
    pas: u64,
    /// The trade it proposed and has not yet seen through.
    echange: Option<Uuid>,
}

impl Joueur {
    pub(crate) fn new(moi: Acteur, partenaire: Acteur, graine: u64) -> Self {
        Self {
            moi,
            partenaire,
            hasard: graine | 1,
            pas: 0,
            echange: None,
        }
    }

    fn tirer(&mut self) -> u64 {
        self.hasard ^= self.hasard << 13;
        self.hasard ^= self.hasard >> 7;
        self.hasard ^= self.hasard << 17;
        self.hasard
    }

    /// The next command of its round of ten: who sends it (itself, or its partner accepting
    /// a trade), the method and the params (without `id_commande`).
    fn prochaine(&mut self) -> (Acteur, &'static str, Value) {
        loop {
            let hasard = self.tirer();
            let pas = self.pas;
            self.pas += 1;
            let j = self.moi.joueur_id;
            let achat = |marchand: &str, item: &str, quantite: u32| json!({"joueur_id": j, "marchand": marchand, "item": item, "quantite": quantite});
            let moi = |methode: &'static str, params: Value| (self.moi.clone(), methode, params);
            return match pas % 10 {
                0 => moi(
                    "echange.proposer",
                    json!({"joueur_id": j, "destinataire": self.partenaire.joueur_id, "offre": {"or": 1, "items": {}}}),
                ),
                // No trade open (the proposal was refused): on with the round.
                1 | 2 if self.echange.is_none() => continue,
                // One trade in four is cancelled rather than concluded.
                1 if hasard.is_multiple_of(4) => {
                    let e = self.echange.take();
                    moi("echange.annuler", json!({"joueur_id": j, "echange_id": e}))
                }
                1 => moi(
                    "echange.accepter",
                    json!({"joueur_id": j, "echange_id": self.echange}),
                ),
                2 => {
                    let e = self.echange.take();
                    let p = &self.partenaire;
                    (
                        p.clone(),
                        "echange.accepter",
                        json!({"joueur_id": p.joueur_id, "echange_id": e}),
                    )
                }
                3 => moi(
                    "inventaire.acheter",
                    achat("apothicaire_mirabelle", "herbe_medicinale", 1),
                ),
                4 => moi(
                    "inventaire.vendre",
                    achat("apothicaire_mirabelle", "herbe_medicinale", 1),
                ),
                // A step of one metre, back and forth: well under the speed limit.
                5 | 9 => moi(
                    "monde.deplacer",
                    json!({"joueur_id": j, "x": 100.0 + (pas / 5 % 2) as f64, "y": 100.0}),
                ),
                // Every other round a craft from bought ore, the other a loaf thrown away.
                6 if (pas / 10).is_multiple_of(2) => moi(
                    "inventaire.acheter",
                    achat("forgeronne_brunehilde", "minerai_de_fer", 2),
                ),
                6 => moi(
                    "inventaire.jeter",
                    json!({"joueur_id": j, "item": "pain", "quantite": 1}),
                ),
                7 => moi(
                    "inventaire.fabriquer",
                    json!({"joueur_id": j, "recette": "lingot_de_fer"}),
                ),
                _ => moi(
                    "inventaire.vendre",
                    achat("forgeronne_brunehilde", "lingot_de_fer", 1),
                ),
            };
        }
    }
}

/// What a twin pair says of its command: applied if either send got a result (the store must
/// then hold it, whatever the other got), else failed if either failed, else possibly applied
/// if either was abandoned, else refused. (A failed send beside a result still fails the run:
/// the checks read every twin.)
fn issue_des_jumeaux(a: Issue, b: Issue) -> Issue {
    match (a, b) {
        (acquittee @ Issue::Acquittee(_), _) | (_, acquittee @ Issue::Acquittee(_)) => acquittee,
        (erreur @ Issue::Erreur(_), _) | (_, erreur @ Issue::Erreur(_)) => erreur,
        (Issue::Abandonnee, _) | (_, Issue::Abandonnee) => Issue::Abandonnee,
        (refusee, _) => refusee,
    }
}

/// Plays `joueur`'s part of the load, `debit` commands per second, until `arret` turns true.
pub(crate) async fn jouer(
    http: reqwest::Client,
    passerelles: Arc<Passerelles>,
    mut joueur: Joueur,
    debit: u32,
    journal: Arc<Mutex<Journal>>,
    mut arret: watch::Receiver<bool>,
) {
    let periode = Duration::from_secs_f64(1.0 / f64::from(debit.max(1)));
    let mut prochain = Instant::now();
    while !*arret.borrow() {
        let (acteur, methode, mut params) = joueur.prochaine();
        let id = Uuid::new_v4();
        // Moves have no id: they are not commands of the store (a retried step is a step).
        if methode != "monde.deplacer" {
            params["id_commande"] = json!(id);
        }
        let envoyes = params.clone();
        let parti_le = Utc::now();
        let (issue, renvois) = if joueur.tirer().is_multiple_of(8) {
            let (a, b) = tokio::join!(
                envoyer(&http, &passerelles, &acteur.jeton, methode, params.clone()),
                envoyer(&http, &passerelles, &acteur.jeton, methode, params)
            );
            journal
                .lock()
                .expect("journal")
                .jumeaux
                .push((id, a.0.clone(), b.0.clone()));
            (issue_des_jumeaux(a.0, b.0), [a.1, b.1].concat())
        } else {
            envoyer(&http, &passerelles, &acteur.jeton, methode, params).await
        };
        if methode == "echange.proposer"
            && let Issue::Acquittee(r) = &issue
        {
            joueur.echange = r["echange_id"].as_str().and_then(|s| s.parse().ok());
        }
        journal.lock().expect("journal").entrees.push(Entree {
            id_commande: id,
            methode,
            params: envoyes,
            issue,
            fin: Instant::now(),
            repondu_le: Utc::now(),
            parti_le,
            renvois,
        });
        // Paced: the next command leaves at its time, or at once when the last one was late.
        prochain += periode;
        let maintenant = Instant::now();
        if prochain > maintenant {
            tokio::select! {
                () = tokio::time::sleep_until(prochain) => {}
                _ = arret.changed() => {}
            }
        } else {
            prochain = maintenant;
        }
    }
}
