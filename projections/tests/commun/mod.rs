//! What the projection tests share: a randomized game workload through the application
//! services, a way to wait until a projection has caught up, and row-by-row snapshots of the
//! read models.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use commands::Depot;
use commands::services::{combat, economie, joueur, quete};
use domain::Catalogue;
use domain::combat::{Combat, Phase};
use domain::echange::Offre;
use domain::ids::{CombatId, CompteId, JoueurId};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::simulation::action_scriptee;
use domain::valeurs::{Classe, NomJoueur, Or, Quantite};
use magasin::Metadonnees;
use magasin::suivi::retard;
use projections::Projection;
use projections::travailleur::traiter_un_lot;
use projections::verification::{self, Desequilibre};
use sqlx::PgPool;
use uuid::Uuid;

/// A small deterministic generator (xorshift), seeded per test so a failure can be replayed.
pub struct Hasard(u64);

impl Hasard {
    pub fn new(graine: u64) -> Self {
        Self(graine.max(1))
    }

    pub fn suivant(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

pub fn depot(pool: &PgPool) -> Arc<Depot> {
    Arc::new(Depot::new(
        pool.clone(),
        Catalogue::officiel().expect("catalogue"),
    ))
}

pub async fn compte(pool: &PgPool, n: u64) -> CompteId {
    let id = CompteId::from_uuid(Uuid::from_u64_pair(2, n));
    sqlx::query("INSERT INTO comptes (compte_id, login, mot_de_passe) VALUES ($1, $2, 'x') ON CONFLICT DO NOTHING")
        .bind(id.uuid())
        .bind(format!("compte{n}"))
        .execute(pool)
        .await
        .expect("compte");
    id
}

pub fn meta(compte: CompteId) -> Metadonnees {
    Metadonnees::pour_compte(compte, Uuid::new_v4(), Uuid::new_v4(), Utc::now())
}

/// Characters of a workload, with their owner.
pub struct Partie {
    pub depot: Arc<Depot>,
    pub joueurs: Vec<(CompteId, JoueurId)>,
}

/// Creates `n` characters over two accounts (`prefixe` keeps names unique across calls).
pub async fn partie(pool: &PgPool, prefixe: &str, n: u64) -> Partie {
    let depot = depot(pool);
    let classes = [Classe::Tank, Classe::Dps, Classe::Heal];
    let mut joueurs = Vec::new();
    for i in 0..n {
        let c = compte(pool, 1 + i % 2).await;
        let nom = NomJoueur::parse(&format!("{prefixe}{i}")).expect("nom");
        let j = joueur::creer_personnage(&depot, c, nom, classes[i as usize % 3], &meta(c))
            .await
            .expect("création");
        joueurs.push((c, j));
    }
    Partie { depot, joueurs }
}

/// What a workload did: operations applied, refused by a rule of the game, per kind.
#[derive(Debug, Default)]
pub struct Bilan {
    /// (applied, refused) per kind of operation, in the order of [`GENRES`].
    pub par_genre: [(u64, u64); 8],
}

/// The kinds of operation a workload draws from.
pub const GENRES: [&str; 8] = [
    "achat de minerai",
    "achat d'herbe",
    "fabrication",
    "vente",
    "quête",
    "xp",
    "échange",
    "combat",
];

/// `operations` random game actions: purchases, sales, crafting, quests, XP, trades and whole
/// combats. Refusals by the rules (not enough gold...) are part of a game; any other error
/// fails the test, and so does a workload where most operations were refused or a kind never
/// applied: the tests compare models built from it, and two empty models are equal.
pub async fn jouer(partie: &Partie, hasard: &mut Hasard, operations: u64) -> Bilan {
    let m = &partie.depot;
    let choisir = |h: &mut Hasard| partie.joueurs[h.suivant(partie.joueurs.len() as u64) as usize];
    let mut bilan = Bilan::default();
    for _ in 0..operations {
        let (c, j) = choisir(hasard);
        let q = Quantite::parse(1 + hasard.suivant(3)).expect("quantité");
        let genre = hasard.suivant(8) as usize;
        let resultat = match genre {
            0 => economie::acheter(
                m,
                &monde(m).await,
                c,
                j,
                economie::Negoce {
                    marchand: code("forgeronne_brunehilde"),
                    item: code("minerai_de_fer"),
                    quantite: q,
                },
                &meta(c),
            )
            .await
            .map(drop),
            1 => economie::acheter(
                m,
                &monde(m).await,
                c,
                j,
                economie::Negoce {
                    marchand: code("apothicaire_mirabelle"),
                    item: code("herbe_medicinale"),
                    quantite: q,
                },
                &meta(c),
            )
            .await
            .map(drop),
            2 => economie::fabriquer(m, c, j, code("lingot_de_fer"), &meta(c))
                .await
                .map(drop),
            3 => economie::vendre(
                m,
                &monde(m).await,
                c,
                j,
                economie::Negoce {
                    marchand: code("apothicaire_mirabelle"),
                    item: code("potion_de_soin"),
                    quantite: Quantite::UN,
                },
                &meta(c),
            )
            .await
            .map(drop),
            4 => {
                let quetes = ["chasse_aux_loups", "rempart", "premier_lingot", "aguerri"];
                let qu = quetes[hasard.suivant(4) as usize];
                quete::accepter(m, c, j, code(qu), &meta(c)).await.map(drop)
            }
            5 => {
                let gain = CommandeJoueur::GagnerXp {
                    source: SourceXp::Combat(CombatId::generer()),
                    xp: 40 + hasard.suivant(200) as u32,
                };
                m.executer::<Joueur>(&j.to_string(), gain, &meta(c))
                    .await
                    .map(drop)
            }
            6 => echanger(partie, hasard).await,
            _ => combattre(partie, hasard).await,
        };
        match resultat {
            Ok(()) => bilan.par_genre[genre].0 += 1,
            Err(commands::ErreurApplication::Regle(_)) => bilan.par_genre[genre].1 += 1,
            Err(erreur) => panic!(
                "{} : erreur hors des règles du jeu : {erreur}",
                GENRES[genre]
            ),
        }
    }
    let appliquees: u64 = bilan.par_genre.iter().map(|(faites, _)| faites).sum();
    assert!(
        appliquees * 2 >= operations,
        "charge surtout refusée ({appliquees} appliquées sur {operations}) : {bilan:?}"
    );
    if operations >= 40 {
        for (genre, (faites, _)) in GENRES.iter().zip(&bilan.par_genre) {
            assert!(
                *faites > 0,
                "charge sans aucun(e) {genre} appliqué(e) : {bilan:?}"
            );
        }
    }
    bilan
}

fn code<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("code")
}

/// Two distinct characters of the game, drawn at random.
fn deux_joueurs(
    partie: &Partie,
    hasard: &mut Hasard,
) -> ((CompteId, JoueurId), (CompteId, JoueurId)) {
    let nombre = partie.joueurs.len() as u64;
    let premier = hasard.suivant(nombre);
    let second = (premier + 1 + hasard.suivant(nombre - 1)) % nombre;
    (
        partie.joueurs[premier as usize],
        partie.joueurs[second as usize],
    )
}

async fn echanger(partie: &Partie, hasard: &mut Hasard) -> Result<(), commands::ErreurApplication> {
    let m = &partie.depot;
    let ((ca, ja), (cb, jb)) = deux_joueurs(partie, hasard);
    let offre = |or| Offre {
        or: Or::new(or),
        items: BTreeMap::new(),
    };
    let e = economie::proposer(
        m,
        ca,
        ja,
        jb,
        offre(1 + hasard.suivant(5)),
        Utc::now() + chrono::TimeDelta::minutes(10),
        &meta(ca),
    )
    .await?;
    let pains = Offre {
        or: Or::ZERO,
        items: BTreeMap::from([(code("pain"), Quantite::UN)]),
    };
    economie::modifier(m, cb, jb, e, pains, &meta(cb)).await?;
    if hasard.suivant(4) == 0 {
        return economie::annuler(m, cb, jb, e, &meta(cb)).await.map(drop);
    }
    economie::accepter(m, ca, ja, e, &meta(ca)).await?;
    economie::accepter(m, cb, jb, e, &meta(cb)).await.map(drop)
}

/// Service Monde on the test's database, under a Redis prefix named after it.
async fn monde(m: &Depot) -> commands::services::monde::Monde {
    let client = redis::Client::open("redis://127.0.0.1:6379").expect("URL Redis");
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .expect("Redis (scripts/services.sh le démarre)");
    let base = m
        .pool()
        .connect_options()
        .get_database()
        .unwrap_or("")
        .to_owned();
    commands::services::monde::Monde::new(
        m.pool().clone(),
        redis,
        &format!("essai:{base}:"),
        m.catalogue().clone(),
    )
}

async fn combattre(
    partie: &Partie,
    hasard: &mut Hasard,
) -> Result<(), commands::ErreurApplication> {
    let m = &partie.depot;
    let ((ca, ja), (cb, jb)) = deux_joueurs(partie, hasard);
    let combat_id = combat::preparer(
        m,
        &monde(m).await,
        ca,
        ja,
        code("meute_de_loups"),
        &meta(ca),
    )
    .await?;
    if combat::rejoindre(m, &monde(m).await, cb, jb, combat_id, &meta(cb))
        .await
        .is_err()
    {
        return combat::quitter(m, ca, ja, combat_id, &meta(ca))
            .await
            .map(drop);
    }
    combat::lancer(m, ca, ja, combat_id, &meta(ca)).await?;
    for _ in 0..200 {
        let Some(etat) = m
            .charger::<Combat>(&combat_id.to_string())
            .await?
            .and_then(|c| c.etat().cloned())
        else {
            break;
        };
        if !matches!(etat.phase, Phase::EnCours { .. }) {
            break;
        }
        let Some(i) = etat.participants.iter().position(|p| !p.ko() && !p.a_agi) else {
            break;
        };
        let qui = etat.participants[i].combattant.joueur_id;
        let compte = if qui == ja { ca } else { cb };
        combat::agir(
            m,
            compte,
            qui,
            combat_id,
            action_scriptee(&etat, i),
            &meta(compte),
        )
        .await?;
    }
    Ok(())
}

/// Drives a projection's live worker batch by batch until it has applied every event of the
/// store (the xid horizon may lag behind other tests' transactions: bounded wait).
pub async fn rattraper(pool: &PgPool, projection: Projection) {
    for _ in 0..2_000 {
        let n = traiter_un_lot(pool, projection, 500).await.expect("lot");
        if n == 0 {
            let r = retard(pool, projection.nom()).await.expect("retard");
            if r.evenements == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    panic!(
        "la projection {} ne rattrape pas le magasin",
        projection.nom()
    );
}

/// The keys `cle` of a read-model table, in order.
pub async fn ids(pool: &PgPool, table: &str, cle: &str) -> Vec<Uuid> {
    let lignes: Vec<(Uuid,)> =
        sqlx::query_as(&format!("SELECT {cle} FROM lecture.{table} ORDER BY 1"))
            .fetch_all(pool)
            .await
            .expect("identifiants");
    lignes.into_iter().map(|(id,)| id).collect()
}

/// Every row of every read-model table, as text, in a stable order.
pub async fn instantane(pool: &PgPool) -> BTreeMap<&'static str, Vec<String>> {
    verification::instantane(pool)
        .await
        .expect("lecture du modèle")
}

/// Conservation per resource: Σ created − Σ destroyed = Σ held. Returns the mismatches.
pub async fn desequilibres(pool: &PgPool) -> Vec<Desequilibre> {
    verification::desequilibres(pool).await.expect("bilan")
}
