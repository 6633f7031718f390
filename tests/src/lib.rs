//! End-to-end tests through the gateway, against the real PostgreSQL, Redis and NATS: each test
//! starts the whole server on port 0 with a fresh database and plays as a client would, over
//! HTTP and WebSocket. This crate holds the client side ([`Banc`], [`ClientWs`]) and the
//! game loop that several tests play ([`scenario`]); the tests are in `tests/tests/`.

pub mod scenario;

use std::collections::VecDeque;
use std::time::Duration;

use domain::ids::{CompteId, JoueurId};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::valeurs::CodeQuete;
use futures_util::{SinkExt as _, StreamExt as _};
use gateway::auth::Jetons;
use gateway::config::{Connexions, Reglages, Secret};
use gateway::serveur::Serveur;
use magasin::Metadonnees;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// The secret the test servers sign with (tests forge and backdate tokens with it).
pub const SECRET: &str = "secret des tests de bout en bout, 32+ caractères";
/// The one Origin the test servers allow.
pub const ORIGINE: &str = "http://jeu.exemple";

/// How long a test waits for something asynchronous (a push, a projection) before failing.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The settings of a test server: port 0, the test secret.
pub fn passerelle_de_test() -> Reglages {
    Reglages {
        adresse: "127.0.0.1:0".parse().expect("adresse"),
        jwt_secret: Some(SECRET.parse::<Secret>().expect("secret")),
        jwt_emetteur: "mmo".into(),
        jwt_audience: "mmo-client".into(),
        duree_acces_s: 900,
        duree_rafraichissement_s: 3600,
        origines: vec![ORIGINE.into()],
        hachages_simultanes: 2,
        appels_par_seconde: 1_000,
        connexions_par_minute: 1_000,
        duree_echange_s: 600,
        client: None,
    }
}

/// Where a test server finds the engines: the machine's PostgreSQL (the test's own database),
/// Redis and NATS, with a Redis prefix and a bus prefix of its own.
pub fn connexions_de_test() -> Connexions {
    let espace = Uuid::new_v4().simple().to_string();
    Connexions {
        database_url: String::new(),
        redis_url: "redis://127.0.0.1:6379".into(),
        nats_url: "nats://127.0.0.1:4222".into(),
        nats_repliques: 1,
        pg_connexions: 12,
        instantane_tous_les: commands::instantanes::INTERVALLE_PAR_DEFAUT,
        ecriture_attente_us: 0,
        ecriture_commandes: 64,
        ecriture_lots_en_vol: 2,
        tampon_lecture: magasin::partage::CAPACITE_PAR_DEFAUT,
        prefixe_redis: format!("e2e:{espace}:"),
        prefixe_bus: format!("e2e_{espace}_"),
    }
}

/// A whole server and an HTTP client for it.
pub struct Banc {
    /// The running server.
    pub serveur: Serveur,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The settings it started with.
    pub reglages: Reglages,
    /// Where it found the engines, with its prefixes.
    pub connexions: Connexions,
    /// The token of the admin account [`Banc::placer`] places with, made at its first use.
    placeur: tokio::sync::OnceCell<String>,
}

/// An account with a session.
#[derive(Debug, Clone)]
pub struct Compte {
    /// Its login.
    pub login: String,
    /// Its password.
    pub mot_de_passe: String,
    /// Its id.
    pub compte_id: Uuid,
    /// The access token.
    pub jeton: String,
    /// The refresh token.
    pub rafraichissement: String,
}

impl Compte {
    /// Issues tokens as the test servers do (their secret, issuer and audience), or as a
    /// forger would with `secret`.
    fn jetons(secret: &[u8]) -> Jetons {
        Jetons::new(secret, "mmo", "mmo-client", Duration::from_mins(15))
    }

    /// A token of this account signed with the servers' secret but issued an hour ago:
    /// expired.
    pub fn jeton_perime(&self) -> String {
        Self::jetons(SECRET.as_bytes())
            .emettre_a(
                CompteId::from_uuid(self.compte_id),
                false,
                chrono::Utc::now() - chrono::Duration::hours(1),
            )
            .expect("jeton périmé")
    }

    /// A token for this account, claiming admin, signed with another secret: forged.
    pub fn jeton_forge(&self) -> String {
        Self::jetons(b"un autre secret, tout aussi long!!")
            .emettre(CompteId::from_uuid(self.compte_id), true)
            .expect("jeton forgé")
    }
}

impl Banc {
    /// Starts a server on the (fresh) database of `pool`.
    pub async fn demarrer(pool: &PgPool) -> Self {
        Self::demarrer_avec(pool, passerelle_de_test()).await
    }

    /// Starts a server with these settings on the database of `pool`.
    pub async fn demarrer_avec(pool: &PgPool, passerelle: Reglages) -> Self {
        Self::demarrer_complet(pool, connexions_de_test(), passerelle).await
    }

    async fn demarrer_complet(pool: &PgPool, connexions: Connexions, passerelle: Reglages) -> Self {
        let options = (*pool.connect_options()).clone();
        let serveur = Serveur::demarrer_sur(options, &connexions, &passerelle)
            .await
            .expect("le serveur démarre");
        Self {
            base: format!("http://{}", serveur.adresse),
            serveur,
            http: reqwest::Client::new(),
            reglages: passerelle,
            connexions,
            placeur: tokio::sync::OnceCell::new(),
        }
    }

    /// A second gateway instance beside this one: the same database, Redis prefix, bus
    /// prefix and token secret, its own port (a player may reach either, doc/monde_chat.md).
    pub async fn jumeau(&self, pool: &PgPool) -> Self {
        Self::demarrer_complet(pool, self.connexions.clone(), self.reglages.clone()).await
    }

    /// Stops the server (and closes its pool, so that the test database can be dropped), then
    /// deletes its stream from NATS: a test server leaves nothing behind.
    pub async fn arreter(self) {
        let bus = self.serveur.passerelle.bus.clone();
        self.serveur.arreter().await;
        bus.supprimer_flux().await.expect("flux du bus supprimé");
    }

    /// `POST` JSON to a REST path: status and body (`null` when empty).
    pub async fn post(&self, chemin: &str, corps: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{chemin}", self.base))
            .json(corps)
            .send()
            .await
            .expect("requête HTTP");
        let statut = r.status();
        let texte = r.text().await.expect("corps");
        (statut, serde_json::from_str(&texte).unwrap_or(Value::Null))
    }

    /// `POST` to a REST path that must refuse: the status and the error's `code`.
    pub async fn post_refuse(&self, chemin: &str, corps: &Value) -> (StatusCode, String) {
        let (statut, reponse) = self.post(chemin, corps).await;
        let code = reponse["erreur"]["code"].as_str().unwrap_or_default();
        (statut, code.to_owned())
    }

    /// Registers and logs in an account.
    pub async fn compte(&self, login: &str) -> Compte {
        let mot_de_passe = format!("phrase de passe de {login}");
        let identifiants = json!({ "login": login, "mot_de_passe": mot_de_passe });
        let (statut, corps) = self.post("/api/comptes", &identifiants).await;
        assert_eq!(statut, StatusCode::CREATED, "inscription : {corps}");
        self.connecter(login, &mot_de_passe).await
    }

    /// Registers an account, gives it the admin role as `mmo admin promouvoir` does, and logs
    /// it in again: a session whose token claims the role the accounts table grants.
    pub async fn administrateur(&self, login: &str) -> Compte {
        let compte = self.compte(login).await;
        self.promouvoir(login, true).await;
        self.connecter(login, &compte.mot_de_passe).await
    }

    /// `mmo admin promouvoir [--retirer] <login>`, on this server's database.
    pub async fn promouvoir(&self, login: &str, admin: bool) {
        gateway::outils::promouvoir(&self.serveur.passerelle.pool, login, admin)
            .await
            .unwrap_or_else(|e| panic!("promotion de {login} : {e}"));
    }

    /// Logs an existing account in: a new session.
    pub async fn connecter(&self, login: &str, mot_de_passe: &str) -> Compte {
        let identifiants = json!({ "login": login, "mot_de_passe": mot_de_passe });
        let (statut, session) = self.post("/api/sessions", &identifiants).await;
        assert_eq!(statut, StatusCode::OK, "connexion : {session}");
        Compte {
            login: login.to_owned(),
            mot_de_passe: mot_de_passe.to_owned(),
            compte_id: Uuid::parse_str(session["compte_id"].as_str().expect("compte_id"))
                .expect("uuid"),
            jeton: session["jeton_acces"].as_str().expect("jeton").to_owned(),
            rafraichissement: session["jeton_rafraichissement"]
                .as_str()
                .expect("rafraîchissement")
                .to_owned(),
        }
    }

    /// `POST /rpc` with a raw body: status and answer (`null` when there is none).
    pub async fn rpc_brut(
        &self,
        jeton: Option<&str>,
        corps: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut requete = self
            .http
            .post(format!("{}/rpc", self.base))
            .header("content-type", "application/json")
            .body(corps);
        if let Some(j) = jeton {
            requete = requete.bearer_auth(j);
        }
        let r = requete.send().await.expect("requête HTTP");
        let statut = r.status();
        let texte = r.text().await.expect("corps");
        (statut, serde_json::from_str(&texte).unwrap_or(Value::Null))
    }

    /// One JSON-RPC call over HTTP: the result, or the error object.
    pub async fn appel(&self, jeton: &str, methode: &str, params: Value) -> Result<Value, Value> {
        let corps = json!({ "jsonrpc": "2.0", "id": 1, "method": methode, "params": params });
        let (statut, reponse) = self.rpc_brut(Some(jeton), corps.to_string()).await;
        assert_eq!(statut, StatusCode::OK, "{methode} : {reponse}");
        resultat(reponse)
    }

    /// Creates a character of the account whose token this is: its `joueur_id`.
    pub async fn personnage(&self, jeton: &str, nom: &str, classe: &str) -> Value {
        let r = self
            .appel(
                jeton,
                "joueur.creer",
                json!({ "nom": nom, "classe": classe }),
            )
            .await
            .unwrap_or_else(|e| panic!("création de {nom} : {e}"));
        r["joueur_id"].clone()
    }

    /// The text of `/metrics`.
    pub async fn metriques(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("/metrics")
            .text()
            .await
            .expect("texte des métriques")
    }

    /// Gives a character `xp` experience points through the write side, as a quest's reward
    /// would: for a test that needs a level, not a quest.
    pub async fn gagner_xp(&self, compte_id: Uuid, joueur_id: JoueurId, xp: u32) {
        let meta = Metadonnees::pour_compte(
            CompteId::from_uuid(compte_id),
            Uuid::new_v4(),
            Uuid::new_v4(),
            chrono::Utc::now(),
        );
        let gain = CommandeJoueur::GagnerXp {
            source: SourceXp::Quete(CodeQuete::parse("essai").expect("code")),
            xp,
        };
        self.serveur
            .passerelle
            .depot
            .executer::<Joueur>(&joueur_id.to_string(), gain, &meta)
            .await
            .expect("XP gagnée");
    }

    /// Places a character at `(x, y)` in `zone` through `monde.placer`, with an admin account
    /// of its own: where a test needs it, instead of a run the speed rule would refuse.
    pub async fn placer(&self, joueur_id: Value, zone: &str, x: f64, y: f64) -> Value {
        let admin = self
            .placeur
            .get_or_init(async || {
                // Unique: a twin instance shares the database, and places with its own.
                let login = format!("placeur_{}", &Uuid::new_v4().simple().to_string()[..8]);
                self.administrateur(&login).await.jeton
            })
            .await;
        self.appel(
            admin,
            "monde.placer",
            json!({ "joueur_id": joueur_id, "zone": zone, "x": x, "y": y }),
        )
        .await
        .unwrap_or_else(|e| panic!("placement : {e}"))
    }

    /// A read that must come to satisfy `pret`: the read models follow the store a few
    /// milliseconds behind, so right after a command a read may not see it yet (or not find
    /// a character's inventory at all). Polls until `pret` holds, or fails after
    /// [`PATIENCE`]; any error but `INTROUVABLE` fails at once.
    pub async fn lire_quand(
        &self,
        jeton: &str,
        methode: &str,
        params: Value,
        pret: impl Fn(&Value) -> bool,
    ) -> Value {
        self.attendre(methode, || async {
            match self.appel(jeton, methode, params.clone()).await {
                Ok(v) => pret(&v).then_some(v),
                Err(e) if code(&e) == "INTROUVABLE" => None,
                Err(e) => panic!("{methode} : {e}"),
            }
        })
        .await
    }

    /// Waits until every projection has applied every event the store holds now (their
    /// checkpoints, `points_de_reprise`): a read after this sees every write before it. A
    /// read that must show *nothing* happened needs this; polling for an empty answer would
    /// pass on a projection that had not caught up yet.
    pub async fn projections_a_jour(&self, pool: &PgPool) {
        self.attendre("les projections à jour", || async {
            for p in projections::Projection::TOUTES {
                let r = magasin::suivi::retard(pool, p.nom())
                    .await
                    .expect("retard d'une projection");
                if r.evenements > 0 {
                    return None;
                }
            }
            Some(())
        })
        .await;
    }

    /// A WebSocket, authenticated by the upgrade's query when `jeton` is given.
    pub async fn ws(&self, jeton: Option<&str>) -> ClientWs {
        let mut url = format!("ws://{}/ws", self.serveur.adresse);
        if let Some(j) = jeton {
            url = format!("{url}?jeton={j}");
        }
        ClientWs::connecter(&url, Some(ORIGINE))
            .await
            .expect("WebSocket ouverte")
    }

    /// Waits until `f` gives `Some` (a projection caught up...), or fails after [`PATIENCE`].
    pub async fn attendre<T, F, Fut>(&self, quoi: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let fin = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < fin,
                "attendu en vain : {quoi}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether something accepts TCP connections on `127.0.0.1:port` now. The fault tests stop a
/// service with `start-stop-daemon --stop --oknodo`, which succeeds doing nothing when no such
/// process runs (a NATS started another way): they check the port instead of the exit status.
pub fn ecoute(port: u16) -> bool {
    let adresse = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&adresse, Duration::from_secs(2)).is_ok()
}

/// A JSON-RPC answer as a `Result`.
pub fn resultat(mut reponse: Value) -> Result<Value, Value> {
    match reponse.get_mut("error") {
        Some(e) => Err(e.take()),
        None => Ok(reponse["result"].take()),
    }
}

/// The `data.code` of an error.
pub fn code(erreur: &Value) -> &str {
    erreur["data"]["code"].as_str().unwrap_or("")
}

/// The notifications of one method among those a socket kept.
pub fn de_methode<'n>(notifications: &'n VecDeque<Value>, methode: &str) -> Vec<&'n Value> {
    notifications
        .iter()
        .filter(|n| n["method"] == methode)
        .collect()
}

type Flux = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A JSON-RPC client over WebSocket that keeps the notifications it receives.
pub struct ClientWs {
    flux: Flux,
    suivant: u64,
    /// Notifications received and not yet taken.
    pub notifications: VecDeque<Value>,
}

/// How a socket ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fermeture {
    /// A close frame with this code.
    Code(u16),
    /// The connection dropped without a close frame.
    Coupure,
}

impl ClientWs {
    /// Opens a socket to `url`, with an `Origin` header if given; the upgrade's refusal is
    /// returned as its HTTP status and body.
    pub async fn connecter(url: &str, origine: Option<&str>) -> Result<Self, (u16, String)> {
        let mut requete = url.into_client_request().expect("URL WebSocket");
        if let Some(o) = origine {
            requete
                .headers_mut()
                .insert("origin", o.parse().expect("origine"));
        }
        match tokio_tungstenite::connect_async(requete).await {
            Ok((flux, _)) => Ok(Self {
                flux,
                suivant: 1,
                notifications: VecDeque::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                let corps = r
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err((r.status().as_u16(), corps))
            }
            Err(e) => panic!("WebSocket : {e}"),
        }
    }

    /// Sends a raw message.
    pub async fn envoyer(&mut self, message: Message) {
        self.flux.send(message).await.expect("envoi WebSocket");
    }

    /// The next message that is not a notification (kept aside) nor a ping.
    pub async fn reponse(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.flux.next())
                .await
                .expect("réponse WebSocket à temps")
                .expect("socket ouverte")
                .expect("message lisible");
            let Message::Text(texte) = message else {
                continue;
            };
            let valeur: Value = serde_json::from_str(&texte).expect("JSON");
            match en_notifications(valeur) {
                Ok(poussees) => self.notifications.extend(poussees),
                Err(reponse) => return reponse,
            }
        }
    }

    /// One call: the result, or the error object.
    pub async fn appel(&mut self, methode: &str, params: Value) -> Result<Value, Value> {
        let id = self.suivant;
        self.suivant += 1;
        let corps = json!({ "jsonrpc": "2.0", "id": id, "method": methode, "params": params });
        self.envoyer(Message::Text(corps.to_string().into())).await;
        let reponse = self.reponse().await;
        assert_eq!(
            reponse["id"],
            json!(id),
            "réponse à un autre appel : {reponse}"
        );
        resultat(reponse)
    }

    /// Sends raw text and returns the answer.
    pub async fn brut(&mut self, texte: &str) -> Value {
        self.envoyer(Message::Text(texte.to_owned().into())).await;
        self.reponse().await
    }

    /// Waits for pushes until `pret` says the collected `evenement` notifications suffice.
    pub async fn attendre_evenements(
        &mut self,
        quoi: &str,
        mut pret: impl FnMut(&VecDeque<Value>) -> bool,
    ) {
        let fin = tokio::time::Instant::now() + PATIENCE;
        while !pret(&self.notifications) {
            let reste = fin.saturating_duration_since(tokio::time::Instant::now());
            assert!(!reste.is_zero(), "notifications attendues en vain : {quoi}");
            let Ok(Some(Ok(message))) = tokio::time::timeout(reste, self.flux.next()).await else {
                panic!("notifications attendues en vain : {quoi}");
            };
            if let Message::Text(texte) = message {
                let valeur: Value = serde_json::from_str(&texte).expect("JSON");
                if let Ok(poussees) = en_notifications(valeur) {
                    self.notifications.extend(poussees);
                }
            }
        }
    }

    /// Reads until the server closes the socket, answering nothing: how it ended.
    pub async fn attendre_fermeture(&mut self, delai: Duration) -> Fermeture {
        let fin = tokio::time::Instant::now() + delai;
        loop {
            let reste = fin.saturating_duration_since(tokio::time::Instant::now());
            let Ok(recu) = tokio::time::timeout(reste, self.flux.next()).await else {
                panic!("la socket est restée ouverte");
            };
            match recu {
                None | Some(Err(_)) => return Fermeture::Coupure,
                Some(Ok(Message::Close(trame))) => {
                    return trame.map_or(Fermeture::Coupure, |t| Fermeture::Code(t.code.into()));
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

/// The notifications a WebSocket frame carries: one, or several grouped in a JSON array
/// (doc/protocole.md, « Notifications groupées »); `Err` with the frame itself when it is an
/// answer (a batch's answer is an array too, of answers).
pub fn en_notifications(trame: Value) -> Result<Vec<Value>, Value> {
    let notification = |v: &Value| v.get("method").is_some() && v.get("id").is_none();
    match trame {
        Value::Array(l) if !l.is_empty() && l.iter().all(notification) => Ok(l),
        v if notification(&v) => Ok(vec![v]),
        v => Err(v),
    }
}
