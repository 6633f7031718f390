//! What the tests of the services and the bus share: a Redis with a prefix of the test's
//! own, accounts and characters in the test's database, a step or a placement where a test
//! needs its character, a combat played to its end.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use chrono::Utc;
use commands::Depot;
use commands::services::joueur;
use commands::services::monde::{Emplacement, Monde};
use domain::Catalogue;
use domain::ids::{CompteId, JoueurId};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::valeurs::{Classe, CodeQuete, CodeZone, NomJoueur, Position};
use magasin::Metadonnees;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use uuid::Uuid;

/// The services of one test, on its database and under its own Redis prefix.
pub struct Banc {
    pub pool: PgPool,
    pub depot: Arc<Depot>,
    pub monde: Monde,
    pub redis: ConnectionManager,
    pub prefixe: String,
}

impl Banc {
    pub async fn new(pool: PgPool) -> Self {
        let client = redis::Client::open("redis://127.0.0.1:6379").expect("url Redis");
        let redis = ConnectionManager::new(client)
            .await
            .expect("Redis joignable");
        let prefixe = format!("test:{}:", Uuid::new_v4().simple());
        let catalogue = Catalogue::officiel().expect("catalogue");
        let monde = Monde::new(pool.clone(), redis.clone(), &prefixe, catalogue.clone());
        Self {
            depot: Arc::new(Depot::new(pool.clone(), catalogue)),
            pool,
            monde,
            redis,
            prefixe,
        }
    }

    /// A second instance of Service Monde on the same storage and Redis prefix, as a second
    /// gateway has: its own memory (owners, hot positions), the same shared state.
    pub fn autre_instance(&self) -> Monde {
        Monde::new(
            self.pool.clone(),
            self.redis.clone(),
            &self.prefixe,
            self.monde.catalogue().clone(),
        )
    }

    pub async fn compte(&self, n: u64) -> CompteId {
        let id = CompteId::from_uuid(Uuid::from_u64_pair(7, n));
        sqlx::query("INSERT INTO comptes (compte_id, login, mot_de_passe) VALUES ($1, $2, 'x')")
            .bind(id.uuid())
            .bind(format!("compte{n}"))
            .execute(&self.pool)
            .await
            .expect("compte");
        id
    }

    /// A character of the account, placed at the start.
    pub async fn personnage(&self, compte: CompteId, nom: &str) -> JoueurId {
        let meta = Metadonnees::pour_compte(compte, Uuid::new_v4(), Uuid::new_v4(), Utc::now());
        let nom = NomJoueur::parse(nom).expect("nom");
        let id = joueur::creer_personnage(&self.depot, compte, nom, Classe::Tank, &meta)
            .await
            .expect("création");
        self.monde.placer_au_depart(id).await.expect("placement");
        id
    }

    /// Gives the character enough XP for `niveau`.
    pub async fn au_niveau(&self, compte: CompteId, joueur_id: JoueurId, niveau: u32) {
        let catalogue = self.depot.catalogue();
        let xp = catalogue
            .xp_pour_niveau(domain::valeurs::Niveau::parse(niveau).expect("niveau"))
            .expect("niveau du catalogue");
        let meta = Metadonnees::pour_compte(compte, Uuid::new_v4(), Uuid::new_v4(), Utc::now());
        let gain = CommandeJoueur::GagnerXp {
            source: SourceXp::Quete(CodeQuete::parse("essai").expect("code")),
            xp: xp as u32,
        };
        self.depot
            .executer::<Joueur>(&joueur_id.to_string(), gain, &meta)
            .await
            .expect("XP");
    }

    /// One step to `vers`, which must be accepted: within the zone and the character's
    /// distance budget (full after a placement: some 17 m at once).
    pub async fn pas(&self, compte: CompteId, joueur_id: JoueurId, vers: Position) {
        self.monde
            .deplacer(compte, joueur_id, vers)
            .await
            .expect("pas accepté");
    }

    /// Places the character at `vers` in its zone (written to PostgreSQL at once): where a
    /// test needs it, instead of a run the speed rule would refuse.
    pub async fn placer(&self, joueur_id: JoueurId, vers: Position) {
        let ici = self
            .monde
            .emplacement(joueur_id)
            .await
            .expect("lecture")
            .expect("placé");
        self.monde
            .placer(
                joueur_id,
                Emplacement {
                    zone: ici.zone,
                    position: vers,
                },
            )
            .await
            .expect("placement");
    }

    /// Takes the character (at least level 2) from the plain to the forest.
    pub async fn aller_en_foret(&self, compte: CompteId, joueur_id: JoueurId) -> Emplacement {
        self.au_niveau(compte, joueur_id, 2).await;
        self.placer(joueur_id, position(192.0, 100.0)).await;
        // A step to the portal: the plain's dirty position a zone change must not undo.
        self.pas(compte, joueur_id, position(194.0, 100.0)).await;
        self.monde
            .changer_zone(compte, joueur_id, zone("foret_sombre"))
            .await
            .expect("passage du portail")
    }

    /// The position PostgreSQL holds.
    pub async fn en_base(&self, joueur_id: JoueurId) -> Option<Emplacement> {
        let ligne: Option<(String, f64, f64)> =
            sqlx::query_as("SELECT zone, x, y FROM positions WHERE joueur_id = $1")
                .bind(joueur_id.uuid())
                .fetch_optional(&self.pool)
                .await
                .expect("lecture");
        ligne.map(|(z, x, y)| Emplacement {
            zone: zone(&z),
            position: position(x, y),
        })
    }

    /// Deletes every key of this test from Redis (what a Redis restart without persistence
    /// does, for this test alone: other tests run beside it).
    pub async fn vider_redis(&self) {
        let mut redis = self.redis.clone();
        let cles: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefixe))
            .query_async(&mut redis)
            .await
            .expect("KEYS");
        if !cles.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(&cles)
                .query_async(&mut redis)
                .await
                .expect("DEL");
        }
    }
}

pub fn position(x: f64, y: f64) -> Position {
    Position::parse(x, y).expect("position")
}

pub fn zone(code: &str) -> CodeZone {
    CodeZone::parse(code).expect("zone")
}

/// Service Monde on the test's database, under a Redis prefix named after it (for the tests
/// that build their store themselves).
pub async fn monde_de(m: &Depot) -> Monde {
    let client = redis::Client::open("redis://127.0.0.1:6379").expect("URL Redis");
    let redis = ConnectionManager::new(client)
        .await
        .expect("Redis (scripts/services.sh le démarre)");
    let base = m
        .pool()
        .connect_options()
        .get_database()
        .unwrap_or("")
        .to_owned();
    Monde::new(
        m.pool().clone(),
        redis,
        &format!("essai:{base}:"),
        m.catalogue().clone(),
    )
}

/// Plays a combat to its end with the scripted policy, through Service Combat.
pub async fn jouer(m: &Depot, c: CompteId, combat_id: domain::ids::CombatId) {
    use domain::combat::{Combat, Phase};
    for _ in 0..500 {
        let etat = m
            .charger::<Combat>(&combat_id.to_string())
            .await
            .expect("lecture")
            .and_then(|c| c.etat().cloned())
            .expect("combat");
        if matches!(etat.phase, Phase::Termine { .. }) {
            return;
        }
        let i = etat
            .participants
            .iter()
            .position(|p| !p.ko() && !p.a_agi)
            .expect("quelqu'un doit agir");
        let qui = etat.participants[i].combattant.joueur_id;
        let action = domain::simulation::action_scriptee(&etat, i);
        let meta = Metadonnees::pour_compte(c, Uuid::new_v4(), Uuid::new_v4(), Utc::now());
        commands::services::combat::agir(m, c, qui, combat_id, action, &meta)
            .await
            .expect("action");
    }
    panic!("combat sans fin");
}

/// How long a test waits for something asynchronous (a relay, a process manager).
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);

/// Waits until `f` gives `Some`, or fails after [`PATIENCE`].
pub async fn attendre<T, F, Fut>(quoi: &str, mut f: F) -> T
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
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
