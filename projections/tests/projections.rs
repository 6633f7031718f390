//! The projections against the real PostgreSQL: a rebuilt model equals the live one row by
//! row; a worker killed in the middle of its batches resumes with nothing missed and nothing
//! applied twice; of two workers one leads and the other takes over; a rebuild during live
//! writes ends consistent. Each test gets its own database.

mod commun;

use std::sync::atomic::Ordering;
use std::time::Duration;

use commun::{Hasard, desequilibres, instantane, jouer, partie, rattraper};
use magasin::partage::{CAPACITE_PAR_DEFAUT, LecteurPartage};
use magasin::suivi::retard;
use projections::Projection;
use projections::reconstruction::reconstruire;
use projections::travailleur::Travailleur;
use sqlx::PgPool;
use tokio::sync::watch;

async fn tout_rattraper(pool: &PgPool) {
    for p in Projection::TOUTES {
        rattraper(pool, p).await;
    }
}

async fn tout_reconstruire(pool: &PgPool, taille_lot: i64) {
    for p in Projection::TOUTES {
        reconstruire(pool, p, taille_lot, |_| {})
            .await
            .expect("reconstruction");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn un_modele_reconstruit_egale_le_modele_vivant_ligne_a_ligne(pool: PgPool) {
    let graine = 0x5eed_0001;
    let p = partie(&pool, "Vif", 6).await;
    jouer(&p, &mut Hasard::new(graine), 120).await;
    tout_rattraper(&pool).await;
    let vivant = instantane(&pool).await;
    for table in [
        "joueurs",
        "inventaires",
        "inventaire_items",
        "journal_quetes",
        "combats",
        "combats_historique",
        "grand_livre",
        "economie_totaux",
    ] {
        assert!(
            !vivant[table].is_empty(),
            "graine {graine:#x} : la charge n'a rien mis dans {table}"
        );
    }
    assert_eq!(
        desequilibres(&pool).await,
        vec![],
        "conservation de l'économie"
    );
    // A batch is folded in memory row by row: whether a row's events fall in one batch or
    // are split across many, the model is the same.
    for taille_lot in [200, 7, 5_000] {
        tout_reconstruire(&pool, taille_lot).await;
        let reconstruit = instantane(&pool).await;
        for (table, lignes) in &vivant {
            assert_eq!(
                &reconstruit[table], lignes,
                "graine {graine:#x} : table {table}, lots de {taille_lot}"
            );
        }
    }
}

/// The checkpoint of a projection, as committed.
async fn point_de_reprise(pool: &PgPool, projection: Projection) -> (String, i64) {
    sqlx::query_as(
        "SELECT transaction_id::text, global_position FROM points_de_reprise WHERE lecteur = $1 \
         UNION ALL SELECT '0', 0 LIMIT 1",
    )
    .bind(projection.nom())
    .fetch_one(pool)
    .await
    .expect("point de reprise")
}

/// Kills `projection`'s worker while it is inside a batch, and checks the batch left nothing:
/// writes to one of its tables are blocked (`LOCK TABLE ... IN EXCLUSIVE MODE`) until the
/// worker's session waits on that lock — it has locked its checkpoint, read its events and
/// started writing them, and cannot commit — then the worker is aborted and the lock
/// released. The checkpoint must not have moved: the half-written batch was rolled back.
async fn tuer_en_plein_lot(pool: &PgPool, projection: Projection) {
    let en_attente = retard(pool, projection.nom())
        .await
        .expect("retard")
        .evenements;
    assert!(en_attente > 0, "{} : aucun lot à couper", projection.nom());
    let table = projection.tables().last().expect("une table");
    let mut verrou = pool.begin().await.expect("transaction");
    sqlx::query(&format!("LOCK TABLE lecture.{table} IN EXCLUSIVE MODE"))
        .execute(&mut *verrou)
        .await
        .expect("verrou");
    let (pid_verrou,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut *verrou)
        .await
        .expect("pid");
    let (_arret, recepteur) = watch::channel(false);
    let t = Travailleur::new(pool.clone(), projection)
        .avec_lots_de(3)
        .avec_sondage(Duration::from_millis(20));
    let tache = tokio::spawn(t.executer(recepteur));
    let mut bloque = None;
    for _ in 0..1_500 {
        bloque = sqlx::query_as::<_, (i32,)>(
            "SELECT pid FROM pg_stat_activity \
             WHERE $1 = ANY(pg_blocking_pids(pid)) AND xact_start IS NOT NULL",
        )
        .bind(pid_verrou)
        .fetch_optional(pool)
        .await
        .expect("pg_stat_activity");
        if bloque.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let Some((pid_lot,)) = bloque else {
        panic!(
            "{} : le travailleur n'a jamais écrit dans {table}",
            projection.nom()
        );
    };
    // Mid-batch: the worker has not committed since it began this batch.
    let pendant = point_de_reprise(pool, projection).await;
    tache.abort();
    assert!(
        tache.await.is_err_and(|e| e.is_cancelled()),
        "le travailleur tué"
    );
    verrou.rollback().await.expect("verrou relâché");
    for _ in 0..1_500 {
        let (ouverte,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND xact_start IS NOT NULL",
        )
        .bind(pid_lot)
        .fetch_one(pool)
        .await
        .expect("pg_stat_activity");
        if ouverte == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        point_de_reprise(pool, projection).await,
        pendant,
        "{} : le lot coupé n'a rien validé",
        projection.nom()
    );
    assert!(
        retard(pool, projection.nom())
            .await
            .expect("retard")
            .evenements
            > 0,
        "{} : le lot coupé reste à faire",
        projection.nom()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_travailleur_tue_en_plein_lot_reprend_sans_perte_ni_double(pool: PgPool) {
    let p = partie(&pool, "Coupe", 6).await;
    jouer(&p, &mut Hasard::new(0x5eed_0002), 100).await;
    // Each worker killed once for certain in the middle of a batch.
    for projection in Projection::TOUTES {
        tuer_en_plein_lot(&pool, projection).await;
    }
    // Kill the workers again and again, at random moments, mid-batch (tiny batches, aborted
    // tasks drop their transaction and connection). They take their events from one shared
    // reader, as in `mmo serve`, whose small buffer they fall out of and come back to.
    let (arret_partage, recepteur_partage) = watch::channel(false);
    let partage = LecteurPartage::new(pool.clone(), 16);
    let tete = partage.lancer(recepteur_partage);
    let mut hasard = Hasard::new(7);
    for _ in 0..12 {
        let (_arret, recepteur) = watch::channel(false);
        let taches: Vec<_> = Projection::TOUTES
            .into_iter()
            .map(|proj| {
                let t = Travailleur::new(pool.clone(), proj)
                    .avec_lots_de(3)
                    .avec_sondage(Duration::from_millis(20))
                    .avec_lecteur(partage.clone());
                tokio::spawn(t.executer(recepteur.clone()))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5 + hasard.suivant(60))).await;
        for t in taches {
            t.abort();
        }
    }
    arret_partage.send(true).expect("arrêt");
    tete.await.expect("lecteur partagé");
    tout_rattraper(&pool).await;
    let apres_coupures = instantane(&pool).await;
    assert_eq!(
        desequilibres(&pool).await,
        vec![],
        "rien de compté deux fois"
    );
    tout_reconstruire(&pool, 200).await;
    assert_eq!(
        instantane(&pool).await,
        apres_coupures,
        "égal à un rejeu complet"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn de_deux_travailleurs_un_seul_mene_et_l_autre_reprend_quand_il_s_arrete(pool: PgPool) {
    let p = partie(&pool, "Duo", 2).await;
    let (_arret, recepteur) = watch::channel(false);
    // Two processes: each its own shared reader.
    let lancer = || {
        let partage = LecteurPartage::new(pool.clone(), CAPACITE_PAR_DEFAUT);
        drop(partage.lancer(recepteur.clone()));
        let t = Travailleur::new(pool.clone(), Projection::Joueurs)
            .avec_sondage(Duration::from_millis(20))
            .avec_lecteur(partage);
        let etat = t.rapport();
        (etat, tokio::spawn(t.executer(recepteur.clone())))
    };
    let (etat_a, tache_a) = lancer();
    let (etat_b, tache_b) = lancer();
    let meneurs = || {
        [&etat_a, &etat_b]
            .iter()
            .filter(|e| e.meneur.load(Ordering::Relaxed))
            .count()
    };
    for _ in 0..500 {
        if meneurs() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(meneurs(), 1, "exactement un meneur");
    let (etat_suivant, tache_meneur, tache_suivante) = if etat_a.meneur.load(Ordering::Relaxed) {
        (etat_b.clone(), tache_a, tache_b)
    } else {
        (etat_a.clone(), tache_b, tache_a)
    };
    assert_eq!(
        etat_suivant.appliques.load(Ordering::Relaxed),
        0,
        "le second n'écrit rien"
    );
    tache_meneur.abort();
    for _ in 0..1_000 {
        if etat_suivant.meneur.load(Ordering::Relaxed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        etat_suivant.meneur.load(Ordering::Relaxed),
        "le second prend la relève"
    );
    // New characters reach the model through the new leader.
    let suite = partie(&pool, "Releve", 2).await;
    drop((p, suite));
    for _ in 0..1_000 {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM lecture.joueurs")
            .fetch_one(&pool)
            .await
            .expect("lecture");
        if n == 4 {
            tache_suivante.abort();
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("le nouveau meneur n'a pas projeté les nouveaux personnages");
}

#[sqlx::test(migrations = "../migrations")]
async fn une_reconstruction_pendant_les_ecritures_finit_coherente(pool: PgPool) {
    let p = partie(&pool, "Flux", 6).await;
    jouer(&p, &mut Hasard::new(0x5eed_0003), 60).await;
    let (arret, recepteur) = watch::channel(false);
    let partage = LecteurPartage::new(pool.clone(), CAPACITE_PAR_DEFAUT);
    let tete = partage.lancer(recepteur.clone());
    let travailleurs: Vec<_> = Projection::TOUTES
        .into_iter()
        .map(|proj| {
            let t = Travailleur::new(pool.clone(), proj)
                .avec_lots_de(50)
                .avec_sondage(Duration::from_millis(20))
                .avec_lecteur(partage.clone());
            tokio::spawn(t.executer(recepteur.clone()))
        })
        .collect();
    let ecritures = tokio::spawn(async move {
        jouer(&p, &mut Hasard::new(0x5eed_0004), 80).await;
    });
    tout_reconstruire(&pool, 200).await;
    ecritures.await.expect("écritures");
    arret.send(true).expect("arrêt");
    for t in travailleurs {
        t.await.expect("travailleur");
    }
    tete.await.expect("lecteur partagé");
    tout_rattraper(&pool).await;
    let apres = instantane(&pool).await;
    assert_eq!(
        desequilibres(&pool).await,
        vec![],
        "conservation de l'économie"
    );
    tout_reconstruire(&pool, 200).await;
    assert_eq!(instantane(&pool).await, apres, "égal à un rejeu complet");
}
