//! The Redis caches against the real PostgreSQL and Redis (127.0.0.1:6379, or `REDIS_URL`):
//! a worker with the cache leaves Redis equal to the read model; an older version never
//! overwrites a newer one; after a flush, reads answer right from PostgreSQL and refill the
//! cache. Each test gets its own database, and its keys are prefixed with that database's name
//! so parallel tests never touch each other's keys (no FLUSHALL).

mod commun;

use std::time::Duration;

use commun::{Hasard, ids, jouer, partie, rattraper};
use magasin::suivi::retard;
use projections::Projection;
use projections::cache::{Cache, combat, inventaire, profil};
use projections::requetes::{combats, inventaires, joueurs};
use projections::travailleur::Travailleur;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

const EN_CACHE: [Projection; 3] = [
    Projection::Joueurs,
    Projection::Inventaires,
    Projection::Combats,
];

/// A cache whose keys are prefixed with this test's database name.
async fn cache(pool: &PgPool) -> Cache {
    let (base,): (String,) = sqlx::query_as("SELECT current_database()")
        .fetch_one(pool)
        .await
        .expect("nom de la base");
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).expect("url Redis");
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .expect("connexion Redis");
    let cache = Cache::new(redis).avec_prefixe(format!("{base}:"));
    // A database name can be reused by a later run: start from an empty prefix.
    cache.vider().await.expect("vidage du préfixe");
    cache
}

/// Runs the three cached projections' real workers, with the cache, until they have applied
/// every event of the store; then stops them (their last batch's cache writes done).
async fn travailleurs_avec_cache(pool: &PgPool, cache: &Cache) {
    let (arret, recepteur) = watch::channel(false);
    let taches: Vec<_> = EN_CACHE
        .into_iter()
        .map(|p| {
            let t = Travailleur::new(pool.clone(), p)
                .avec_lots_de(40)
                .avec_sondage(Duration::from_millis(20))
                .avec_cache(cache.clone());
            tokio::spawn(t.executer(recepteur.clone()))
        })
        .collect();
    'attente: for _ in 0..3_000 {
        for p in EN_CACHE {
            if retard(pool, p.nom()).await.expect("retard").evenements > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue 'attente;
            }
        }
        break;
    }
    arret.send(true).expect("arrêt");
    for t in taches {
        t.await.expect("travailleur");
    }
    for p in EN_CACHE {
        assert_eq!(
            retard(pool, p.nom()).await.expect("retard").evenements,
            0,
            "{} n'a pas rattrapé le magasin",
            p.nom()
        );
    }
}

/// Redis (read directly, no fallback) holds exactly the PostgreSQL rows.
async fn cache_egal_base(pool: &PgPool, cache: &Cache) {
    let joueurs = ids(pool, "joueurs", "joueur_id").await;
    let inventaires = ids(pool, "inventaires", "joueur_id").await;
    let combats = ids(pool, "combats", "combat_id").await;
    assert!(!joueurs.is_empty() && !inventaires.is_empty() && !combats.is_empty());
    for p in joueurs::profils(pool, &joueurs).await.expect("profils") {
        let en_cache = cache.profil_en_cache(p.joueur_id).await.expect("redis");
        assert_eq!(en_cache, Some(p), "profil");
    }
    for i in inventaires::resumes(pool, &inventaires)
        .await
        .expect("inventaires")
    {
        let en_cache = cache.inventaire_en_cache(i.joueur_id).await.expect("redis");
        assert_eq!(en_cache, Some(i), "inventaire");
    }
    for c in combats::vues(pool, &combats).await.expect("combats") {
        let en_cache = cache.combat_en_cache(c.combat_id).await.expect("redis");
        assert_eq!(en_cache, Some(c), "combat");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn apres_un_travailleur_avec_cache_redis_egale_les_lignes_postgresql(pool: PgPool) {
    let cache = cache(&pool).await;
    let p = partie(&pool, "Cache", 6).await;
    jouer(&p, &mut Hasard::new(0x5eed_0c01), 100).await;
    travailleurs_avec_cache(&pool, &cache).await;
    cache_egal_base(&pool, &cache).await;
    // The public reads answer the same (from the cache).
    for j in ids(&pool, "joueurs", "joueur_id").await {
        let base = joueurs::profils(&pool, &[j]).await.expect("profil").pop();
        assert_eq!(profil(&pool, &cache, j).await.expect("profil"), base);
        let base = inventaires::resumes(&pool, &[j])
            .await
            .expect("inventaire")
            .pop();
        assert_eq!(
            inventaire(&pool, &cache, j).await.expect("inventaire"),
            base
        );
    }
    for c in ids(&pool, "combats", "combat_id").await {
        let base = combats::vues(&pool, &[c]).await.expect("combat").pop();
        assert_eq!(combat(&pool, &cache, c).await.expect("combat"), base);
    }
    // More play, the same workers again: the cache follows the newer versions.
    jouer(&p, &mut Hasard::new(0x5eed_0c02), 60).await;
    travailleurs_avec_cache(&pool, &cache).await;
    cache_egal_base(&pool, &cache).await;
    cache.vider().await.expect("nettoyage");
}

#[sqlx::test(migrations = "../migrations")]
async fn une_version_plus_ancienne_n_ecrase_jamais_une_plus_recente(pool: PgPool) {
    let cache = cache(&pool).await;
    let p = partie(&pool, "Garde", 4).await;
    jouer(&p, &mut Hasard::new(0x5eed_0c03), 60).await;
    for proj in EN_CACHE {
        rattraper(&pool, proj).await;
    }

    let j = ids(&pool, "joueurs", "joueur_id").await[0];
    let ancien = joueurs::profils(&pool, &[j])
        .await
        .expect("profil")
        .pop()
        .expect("un profil");
    let mut recent = ancien.clone();
    recent.version += 1;
    recent.xp += 1_000;
    assert!(cache.ecrire_profil(&recent).await.expect("redis"), "écrit");
    assert!(
        !cache.ecrire_profil(&ancien).await.expect("redis"),
        "une version plus ancienne est refusée"
    );
    assert!(
        !cache.ecrire_profil(&recent).await.expect("redis"),
        "la même version n'est pas réécrite"
    );
    assert_eq!(
        cache.profil_en_cache(j).await.expect("redis"),
        Some(recent.clone())
    );
    // The read-through refill (older, from PostgreSQL) does not overwrite it either.
    assert_eq!(
        profil(&pool, &cache, j).await.expect("profil"),
        Some(recent)
    );

    let ancien = inventaires::resumes(&pool, &[j])
        .await
        .expect("inventaire")
        .pop()
        .expect("un inventaire");
    let mut recent = ancien.clone();
    recent.version += 1;
    recent.or_total += 7;
    recent.items.insert("pain".into(), 99);
    assert!(cache.ecrire_inventaire(&recent).await.expect("redis"));
    assert!(!cache.ecrire_inventaire(&ancien).await.expect("redis"));
    assert_eq!(
        cache.inventaire_en_cache(j).await.expect("redis"),
        Some(recent)
    );

    let c = ids(&pool, "combats", "combat_id").await[0];
    let ancien = combats::vues(&pool, &[c])
        .await
        .expect("combat")
        .pop()
        .expect("un combat");
    let mut recent = ancien.clone();
    recent.version += 1;
    recent.tour += 1;
    recent.participants.clear();
    recent.fin = None;
    assert!(cache.ecrire_combat(&recent).await.expect("redis"));
    assert!(!cache.ecrire_combat(&ancien).await.expect("redis"));
    assert_eq!(cache.combat_en_cache(c).await.expect("redis"), Some(recent));
    cache.vider().await.expect("nettoyage");
}

#[sqlx::test(migrations = "../migrations")]
async fn apres_un_vidage_les_lectures_restent_justes_et_le_cache_se_remplit(pool: PgPool) {
    let cache = cache(&pool).await;
    let p = partie(&pool, "Vide", 5).await;
    jouer(&p, &mut Hasard::new(0x5eed_0c04), 80).await;
    travailleurs_avec_cache(&pool, &cache).await;
    assert!(
        cache.vider().await.expect("vidage") > 0,
        "le cache était rempli"
    );

    let joueurs = ids(&pool, "joueurs", "joueur_id").await;
    let combats = ids(&pool, "combats", "combat_id").await;
    for &j in &joueurs {
        assert_eq!(cache.profil_en_cache(j).await.expect("redis"), None);
        assert_eq!(cache.inventaire_en_cache(j).await.expect("redis"), None);
        let base = joueurs::profils(&pool, &[j]).await.expect("profil").pop();
        assert_eq!(profil(&pool, &cache, j).await.expect("profil"), base);
        let base = inventaires::resumes(&pool, &[j])
            .await
            .expect("inventaire")
            .pop();
        assert_eq!(
            inventaire(&pool, &cache, j).await.expect("inventaire"),
            base
        );
    }
    for &c in &combats {
        assert_eq!(cache.combat_en_cache(c).await.expect("redis"), None);
        let base = combats::vues(&pool, &[c]).await.expect("combat").pop();
        assert_eq!(combat(&pool, &cache, c).await.expect("combat"), base);
    }
    // Refilled by those reads: Redis alone now answers, equal to PostgreSQL.
    cache_egal_base(&pool, &cache).await;
    // A character nobody knows: no answer, nothing cached.
    let inconnu = Uuid::from_u64_pair(9, 9);
    assert_eq!(profil(&pool, &cache, inconnu).await.expect("profil"), None);
    assert_eq!(cache.profil_en_cache(inconnu).await.expect("redis"), None);
    cache.vider().await.expect("nettoyage");
}
