//! The event store against the real PostgreSQL: every aggregate written and reloaded, metadata
//! on every event, optimistic concurrency, idempotency by command id under concurrency, and the
//! global-order reader that never skips an event while writers commit out of order.
//! Each test gets its own database (`#[sqlx::test]`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use commands::depot::PolitiqueReessai;
use commands::ecriture_groupee::ReglagesEcriture;
use commands::{Depot, ErreurApplication, Refus};
use domain::combat::{Combat, Combattant, CommandeCombat};
use domain::echange::{CommandeEchange, Echange, Offre};
use domain::ids::{CombatId, CompteId, EchangeId, JoueurId};
use domain::inventaire::{CommandeInventaire, ErreurInventaire, Inventaire};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::quete::{CommandeQuete, Quete, QueteId};
use domain::valeurs::{Classe, Graine, Niveau, NomJoueur, Or, Quantite};
use domain::{Catalogue, Services};
use magasin::Metadonnees;
use magasin::lecteur::{self, PositionGlobale};
use sqlx::PgPool;
use uuid::Uuid;

fn catalogue() -> Services {
    Catalogue::officiel().expect("catalogue officiel valide")
}

fn depot(pool: PgPool) -> Depot {
    Depot::new(pool, catalogue())
}

fn compte() -> CompteId {
    CompteId::from_uuid(Uuid::from_u64_pair(2, 1))
}

fn meta() -> Metadonnees {
    Metadonnees::pour_compte(compte(), Uuid::new_v4(), Uuid::new_v4(), Utc::now())
}

fn joueur(n: u64) -> JoueurId {
    JoueurId::from_uuid(Uuid::from_u64_pair(1, n))
}

fn creer(n: u64, classe: Classe) -> CommandeJoueur {
    CommandeJoueur::Creer {
        joueur_id: joueur(n),
        compte_id: compte(),
        nom: NomJoueur::parse(&format!("Heros{n}")).expect("nom"),
        classe,
    }
}

fn xp(source: u64, xp: u32) -> CommandeJoueur {
    CommandeJoueur::GagnerXp {
        source: SourceXp::Combat(CombatId::from_uuid(Uuid::from_u64_pair(3, source))),
        xp,
    }
}

async fn cree(m: &Depot, n: u64) {
    m.executer::<Joueur>(&joueur(n).to_string(), creer(n, Classe::Tank), &meta())
        .await
        .expect("création");
}

async fn ouvert(m: &Depot, n: u64) {
    let ouvrir = CommandeInventaire::Ouvrir {
        joueur_id: joueur(n),
    };
    m.executer::<Inventaire>(&joueur(n).to_string(), ouvrir, &meta())
        .await
        .expect("ouverture");
}

#[sqlx::test(migrations = "../migrations")]
async fn chaque_agregat_s_ecrit_et_se_recharge(pool: PgPool) {
    let m = depot(pool);
    let j = joueur(1).to_string();
    m.executer::<Joueur>(&j, creer(1, Classe::Heal), &meta())
        .await
        .expect("création");
    m.executer::<Joueur>(&j, xp(1, 120), &meta())
        .await
        .expect("xp");
    let fiche = m
        .charger::<Joueur>(&j)
        .await
        .expect("lecture")
        .expect("existe");
    let fiche = fiche.fiche().expect("créé");
    assert_eq!((fiche.xp, fiche.niveau.valeur()), (120, 2));

    let combat = CombatId::from_uuid(Uuid::from_u64_pair(3, 9));
    let preparer = CommandeCombat::Preparer {
        combat_id: combat,
        rencontre: "meute_de_loups".parse().expect("code"),
        zone: "plaine_verte".parse().expect("code"),
        graine: Graine::new(7),
        initiateur: Combattant {
            joueur_id: joueur(1),
            nom: NomJoueur::parse("Heros1").expect("nom"),
            classe: Classe::Heal,
            niveau: Niveau::UN,
        },
    };
    m.executer::<Combat>(&combat.to_string(), preparer, &meta())
        .await
        .expect("préparation");
    let c = m
        .charger::<Combat>(&combat.to_string())
        .await
        .expect("lecture")
        .expect("existe");
    assert_eq!(c.etat().expect("préparé").participants.len(), 1);

    let quete = QueteId {
        joueur_id: joueur(1),
        quete: "chasse_aux_loups".parse().expect("code"),
    };
    let accepter = CommandeQuete::Accepter {
        joueur_id: joueur(1),
        quete: quete.quete.clone(),
        niveau_joueur: Niveau::UN,
        quetes_terminees: BTreeSet::new(),
    };
    m.executer::<Quete>(&quete.to_string(), accepter, &meta())
        .await
        .expect("acceptation");
    let q = m
        .charger::<Quete>(&quete.to_string())
        .await
        .expect("lecture")
        .expect("existe");
    assert_eq!(q.etat().expect("acceptée").progression, 0);

    ouvert(&m, 1).await;
    let inv = m
        .charger::<Inventaire>(&j)
        .await
        .expect("lecture")
        .expect("existe");
    assert_eq!(
        inv.contenu().expect("ouvert").or,
        catalogue().regles().or_depart
    );

    let echange = EchangeId::from_uuid(Uuid::from_u64_pair(4, 1));
    let proposer = CommandeEchange::Proposer {
        echange_id: echange,
        proposant: joueur(1),
        destinataire: joueur(2),
        offre: Offre {
            or: Or::new(5),
            items: BTreeMap::new(),
        },
        echeance: Utc::now() + chrono::TimeDelta::minutes(10),
    };
    m.executer::<Echange>(&echange.to_string(), proposer, &meta())
        .await
        .expect("proposition");
    let e = m
        .charger::<Echange>(&echange.to_string())
        .await
        .expect("lecture")
        .expect("existe");
    assert_eq!(e.etat().expect("proposé").proposant.offre.or, Or::new(5));

    assert!(
        m.charger::<Joueur>(&joueur(99).to_string())
            .await
            .expect("lecture")
            .is_none()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn chaque_evenement_porte_qui_pourquoi_et_quand(pool: PgPool) {
    let m = depot(pool.clone());
    let requete = meta();
    let j = joueur(1).to_string();
    m.executer::<Joueur>(&j, creer(1, Classe::Dps), &requete)
        .await
        .expect("création");
    let reaction =
        Metadonnees::pour_reaction(Uuid::new_v4(), "xp", requete.correlation_id, Utc::now());
    m.executer::<Joueur>(&j, xp(1, 500), &reaction)
        .await
        .expect("xp");

    let flux = lecteur::flux_agregat(&pool, "Joueur", &j)
        .await
        .expect("flux");
    let types: Vec<&str> = flux.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types[..2], ["JoueurCree", "XpGagnee"]);
    assert!(types[2..].iter().all(|t| *t == "NiveauAtteint") && types.len() > 2);
    let (creation, suite) = flux.split_first().expect("au moins un événement");
    assert_eq!(creation.id_commande, Some(requete.id_commande));
    assert_eq!(creation.causation_id, Some(requete.id_commande));
    assert_eq!(creation.compte_id, Some(compte().uuid()));
    for e in suite {
        assert_eq!(e.id_commande, Some(reaction.id_commande));
        assert_eq!(e.causation_id, Some(reaction.causation_id));
        assert_eq!(
            e.correlation_id,
            Some(requete.correlation_id),
            "la chaîne garde sa corrélation"
        );
        assert_eq!(e.compte_id, None, "une réaction est le fait du système");
    }
    let sequences: Vec<i64> = flux.iter().map(|e| e.sequence).collect();
    assert_eq!(
        sequences,
        (1..=i64::try_from(flux.len()).expect("petit")).collect::<Vec<_>>()
    );
    assert!(
        flux.windows(2)
            .all(|w| w[0].recorded_at <= w[1].recorded_at)
    );
}

/// Inserts, in an open transaction, the event a concurrent writer (another process) would add
/// at `sequence`, its command id registered as the store's writer does.
async fn ecrivain_concurrent(
    pool: &PgPool,
    agregat_id: &str,
    sequence: i64,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.expect("transaction");
    let autre = meta();
    sqlx::query(
        "INSERT INTO commandes_appliquees (id_commande, aggregate_type, aggregate_id, transaction_id) \
         VALUES ($1, 'Joueur', $2, pg_current_xact_id())",
    )
    .bind(autre.id_commande)
    .bind(agregat_id)
    .execute(&mut *tx)
    .await
    .expect("commande concurrente");
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
                             payload, metadata, id_commande, correlation_id, causation_id, compte_id) \
         VALUES ('Joueur', $1, $2, 'XpGagnee', '1.0', $3, $4, $5, $6, $5, $7)",
    )
    .bind(agregat_id)
    .bind(sequence)
    .bind(serde_json::json!({"XpGagnee": {"source": {"combat": Uuid::from_u64_pair(3, 77)}, "xp": 1, "xp_totale": 1}}))
    .bind(serde_json::to_value(autre.en_map()).expect("json"))
    .bind(autre.id_commande)
    .bind(autre.correlation_id)
    .bind(compte().uuid())
    .execute(&mut *tx)
    .await
    .expect("insertion concurrente");
    tx
}

/// Waits until another session is blocked behind `tx`'s locks: the command's insert waits on
/// the key `tx` wrote. The race is then set, however slow the machine.
async fn attendre_un_bloque(pool: &PgPool, tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) {
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut **tx)
        .await
        .expect("pid");
    for _ in 0..1_500 {
        let (bloques,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
        )
        .bind(pid)
        .fetch_one(pool)
        .await
        .expect("pg_stat_activity");
        if bloques > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("la commande ne s'est jamais heurtée à l'écriture concurrente");
}

#[sqlx::test(migrations = "../migrations")]
async fn sans_reessai_le_perdant_d_une_course_recoit_un_conflit(pool: PgPool) {
    let m = depot(pool.clone()).avec_politique(PolitiqueReessai {
        tentatives: 1,
        attente_initiale: Duration::ZERO,
    });
    cree(&m, 1).await;
    let j = joueur(1).to_string();
    // Another writer holds version 2, uncommitted: the command decides on version 1, blocks on
    // the key, and loses when the other writer commits.
    let mut tx = ecrivain_concurrent(&pool, &j, 2).await;
    let commande = tokio::spawn({
        let m = Arc::new(m);
        async move { m.executer::<Joueur>(&j, xp(5, 10), &meta()).await }
    });
    attendre_un_bloque(&pool, &mut tx).await;
    tx.commit().await.expect("commit concurrent");
    let resultat = commande.await.expect("tâche");
    assert!(
        matches!(resultat, Err(ErreurApplication::Conflit)),
        "{resultat:?}"
    );
    let versions: Vec<(i64,)> = sqlx::query_as(
        "SELECT sequence FROM events WHERE aggregate_type = 'Joueur' ORDER BY sequence",
    )
    .fetch_all(&pool)
    .await
    .expect("lecture");
    assert_eq!(versions, vec![(1,), (2,)], "une seule écriture par version");
}

#[sqlx::test(migrations = "../migrations")]
async fn avec_reessai_le_perdant_d_une_course_decide_a_nouveau_sur_l_etat_neuf(pool: PgPool) {
    let m = Arc::new(depot(pool.clone()));
    cree(&m, 1).await;
    let j = joueur(1).to_string();
    let mut tx = ecrivain_concurrent(&pool, &j, 2).await;
    let commande = tokio::spawn({
        let (m, j) = (m.clone(), j.clone());
        async move { m.executer::<Joueur>(&j, xp(5, 10), &meta()).await }
    });
    attendre_un_bloque(&pool, &mut tx).await;
    tx.commit().await.expect("commit concurrent");
    commande
        .await
        .expect("tâche")
        .expect("la commande passe au second essai");
    let fiche = m
        .charger::<Joueur>(&j)
        .await
        .expect("lecture")
        .expect("existe");
    assert_eq!(
        fiche.fiche().expect("créé").xp,
        11,
        "1 du concurrent + 10 de la commande"
    );
    assert!(m.compteurs().conflits.load(Ordering::Relaxed) >= 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn des_commandes_concurrentes_sur_un_agregat_passent_toutes_une_par_version(pool: PgPool) {
    // Sixteen writers on one aggregate: one wins each round, so the last may need sixteen
    // attempts (more on a loaded machine, where they collide again). The default policy (8)
    // answers CONFLIT before that, as the gateway documents; this test is about every command
    // passing once, so it gives them the attempts they need.
    let m = Arc::new(depot(pool.clone()).avec_politique(PolitiqueReessai {
        tentatives: 64,
        attente_initiale: Duration::from_millis(2),
    }));
    cree(&m, 1).await;
    let taches: Vec<_> = (0..16u64)
        .map(|i| {
            let m = m.clone();
            tokio::spawn(async move {
                m.executer::<Joueur>(&joueur(1).to_string(), xp(100 + i, 3), &meta())
                    .await
            })
        })
        .collect();
    for t in taches {
        t.await
            .expect("tâche")
            .expect("chaque commande finit par passer");
    }
    let fiche = m
        .charger::<Joueur>(&joueur(1).to_string())
        .await
        .expect("lecture")
        .expect("existe");
    assert_eq!(fiche.fiche().expect("créé").xp, 48);
    let sequences: Vec<(i64,)> = sqlx::query_as("SELECT sequence FROM events ORDER BY sequence")
        .fetch_all(&pool)
        .await
        .expect("lecture");
    assert_eq!(sequences.len(), 17);
    assert!(
        sequences
            .iter()
            .enumerate()
            .all(|(i, (s,))| Ok(*s) == i64::try_from(i + 1))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn la_meme_commande_envoyee_dix_fois_en_meme_temps_ne_s_applique_qu_une_fois(pool: PgPool) {
    let m = Arc::new(depot(pool.clone()));
    let j = joueur(1).to_string();
    ouvert(&m, 1).await;
    // Buying is not idempotent by itself: only the command id protects it.
    let achat = CommandeInventaire::Acheter {
        marchand: "apothicaire_mirabelle".parse().expect("code"),
        item: "herbe_medicinale".parse().expect("code"),
        quantite: Quantite::parse(2).expect("quantité"),
    };
    let une_requete = meta();
    let taches: Vec<_> = (0..10)
        .map(|_| {
            let (m, j, achat, meta) = (m.clone(), j.clone(), achat.clone(), une_requete.clone());
            tokio::spawn(async move { m.executer::<Inventaire>(&j, achat, &meta).await })
        })
        .collect();
    let mut reponses = Vec::new();
    for t in taches {
        reponses.push(
            t.await
                .expect("tâche")
                .expect("chaque envoi reçoit la réponse"),
        );
    }
    assert!(
        reponses.iter().all(|r| r == &reponses[0] && r.len() == 2),
        "{reponses:?}"
    );
    let inv = m
        .charger::<Inventaire>(&j)
        .await
        .expect("lecture")
        .expect("existe");
    let contenu = inv.contenu().expect("ouvert");
    assert_eq!(
        contenu.or,
        Or::new(catalogue().regles().or_depart.pieces() - 6),
        "payé une fois"
    );
    assert_eq!(
        contenu
            .items
            .get(&"herbe_medicinale".parse().expect("code")),
        Some(&2)
    );
    let appliquees: (i64,) = sqlx::query_as("SELECT count(*) FROM events WHERE id_commande = $1")
        .bind(une_requete.id_commande)
        .fetch_one(&pool)
        .await
        .expect("lecture");
    assert_eq!(appliquees.0, 2, "un débit et un ajout, une seule fois");
}

#[sqlx::test(migrations = "../migrations")]
async fn une_commande_rejouee_plus_tard_recoit_sa_premiere_reponse_pas_un_refus(pool: PgPool) {
    let m = depot(pool.clone());
    let requete = meta();
    let j = joueur(1).to_string();
    let premiere = m
        .executer::<Joueur>(&j, creer(1, Classe::Tank), &requete)
        .await
        .expect("création");
    // Replayed alone, `Creer` would be refused (`DejaCree`): the id says it was applied.
    let rejouee = m
        .executer::<Joueur>(&j, creer(1, Classe::Tank), &requete)
        .await
        .expect("la réponse d'origine");
    assert_eq!(premiere, rejouee);
    // A genuinely new creation of the same character is still refused.
    let nouvelle = m
        .executer::<Joueur>(&j, creer(1, Classe::Tank), &meta())
        .await;
    assert!(
        matches!(nouvelle, Err(ErreurApplication::Regle(Refus::Joueur(_)))),
        "{nouvelle:?}"
    );
    let n: (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .expect("lecture");
    assert_eq!(n.0, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn un_identifiant_de_commande_ne_sert_pas_pour_deux_agregats(pool: PgPool) {
    let m = depot(pool);
    let requete = meta();
    m.executer::<Joueur>(&joueur(1).to_string(), creer(1, Classe::Tank), &requete)
        .await
        .expect("création");
    let autre = m
        .executer::<Joueur>(&joueur(2).to_string(), creer(2, Classe::Dps), &requete)
        .await;
    assert!(
        matches!(autre, Err(ErreurApplication::CommandeReutilisee(id)) if id == requete.id_commande),
        "{autre:?}"
    );
    assert!(
        m.charger::<Joueur>(&joueur(2).to_string())
            .await
            .expect("lecture")
            .is_none()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_identifiant_de_commande_repris_pour_un_agregat_d_un_autre_type_est_refuse_comme_reutilise(
    pool: PgPool,
) {
    // Found by the dispatcher's fuzzing (tests/tests/fuzz.rs): the first command's events
    // were decoded as the second aggregate's, an internal error instead of the refusal.
    let m = depot(pool);
    let requete = meta();
    m.executer::<Joueur>(&joueur(1).to_string(), creer(1, Classe::Tank), &requete)
        .await
        .expect("création");
    let ouvrir = CommandeInventaire::Ouvrir {
        joueur_id: joueur(1),
    };
    let autre = m
        .executer::<Inventaire>(&joueur(1).to_string(), ouvrir, &requete)
        .await;
    assert!(
        matches!(autre, Err(ErreurApplication::CommandeReutilisee(id)) if id == requete.id_commande),
        "{autre:?}"
    );
    assert!(
        m.charger::<Inventaire>(&joueur(1).to_string())
            .await
            .expect("lecture")
            .is_none()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_refus_du_domaine_revient_avec_sa_raison_et_n_ecrit_rien(pool: PgPool) {
    let m = depot(pool.clone());
    let j = joueur(1).to_string();
    ouvert(&m, 1).await;
    let trop = CommandeInventaire::Vendre {
        marchand: "trappeur_gaspard".parse().expect("code"),
        item: "peau_de_loup".parse().expect("code"),
        quantite: Quantite::UN,
    };
    let refus = m.executer::<Inventaire>(&j, trop, &meta()).await;
    assert!(
        matches!(
            refus,
            Err(ErreurApplication::Regle(Refus::Inventaire(
                ErreurInventaire::ItemsInsuffisants { .. }
            )))
        ),
        "{refus:?}"
    );
    let n: (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .expect("lecture");
    let kit = 2 + i64::try_from(catalogue().regles().kit_depart.len()).expect("petit");
    assert_eq!(n.0, kit, "rien de plus que l'ouverture");
}

#[sqlx::test(migrations = "../migrations")]
async fn le_lecteur_global_ne_saute_pas_un_commit_tardif_que_le_suivi_naif_perd(pool: PgPool) {
    let m = depot(pool.clone());
    // A: an early transaction, still open, that took global position 1.
    let tx_a = ecrivain_concurrent(&pool, &joueur(1).to_string(), 1).await;
    // B: a later one that took position 2 and commits first.
    m.executer::<Joueur>(&joueur(2).to_string(), creer(2, Classe::Dps), &meta())
        .await
        .expect("B");

    let naif = lecteur::lire_apres_position_naive(&pool, 0, 100)
        .await
        .expect("lecture");
    assert_eq!(naif.len(), 1, "le suivi naïf voit B");
    let point_naif = naif[0].global_position;
    let fiable = lecteur::lire_apres(&pool, PositionGlobale::DEBUT, 100)
        .await
        .expect("lecture");
    assert!(
        fiable.is_empty(),
        "sous l'horizon, rien tant que A est en vol : {fiable:?}"
    );

    tx_a.commit().await.expect("A committe après B");

    let naif_ensuite = lecteur::lire_apres_position_naive(&pool, point_naif, 100)
        .await
        .expect("lecture");
    assert!(
        naif_ensuite.is_empty(),
        "le suivi naïf a sauté A pour toujours"
    );
    // The horizon is cluster-wide: a transaction of another database (tests run in parallel)
    // can hold it back a moment after A commits. That is lag, not loss: wait for it, bounded.
    let mut fiable = Vec::new();
    for _ in 0..1_000 {
        fiable = lecteur::lire_apres(&pool, PositionGlobale::DEBUT, 100)
            .await
            .expect("lecture");
        if fiable.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let agregats: Vec<&str> = fiable.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(
        agregats,
        [joueur(1).to_string(), joueur(2).to_string()],
        "A puis B, rien de sauté"
    );
}

/// Creates 64 characters, then starts 8 writers of `commandes` XP gains each, spread over
/// them (every character written by several writers at once).
async fn huit_ecrivains(pool: &PgPool, commandes: u64) -> Vec<tokio::task::JoinHandle<()>> {
    const AGREGATS: u64 = 64;
    let m = Arc::new(depot(pool.clone()));
    for n in 0..AGREGATS {
        cree(&m, n).await;
    }
    (0..8)
        .map(|w| {
            let m = m.clone();
            tokio::spawn(async move {
                for i in 0..commandes {
                    let cible = joueur((w * 7 + i) % AGREGATS);
                    m.executer::<Joueur>(&cible.to_string(), xp(w * commandes + i, 1), &meta())
                        .await
                        .expect("écriture");
                }
            })
        })
        .collect()
}

/// 8 writers × 1,000 commands on shared aggregates while a reader tails the store with
/// `lire`; returns (events in the store, events seen, events seen twice, aggregates seen out of
/// order).
async fn suivre_pendant_les_ecritures<F, Fut>(pool: PgPool, lire: F) -> (usize, usize, usize, usize)
where
    F: Fn(PgPool, PositionGlobale) -> Fut,
    Fut: Future<Output = Vec<lecteur::EvenementStocke>>,
{
    let ecrivains = huit_ecrivains(&pool, 1_000).await;
    let mut vus: HashMap<Uuid, u32> = HashMap::new();
    let mut derniere_sequence: HashMap<String, i64> = HashMap::new();
    let (mut desordres, mut position) = (0, PositionGlobale::DEBUT);
    // Stop once the writers are done and the reader has seen as many events as the store
    // holds, or has seen nothing new for 5 s (the naive tail never catches up). Not on the
    // first empty batch: the xid8 horizon is the whole cluster's, and another test's open
    // transaction may hold it back for a while (lag, not loss).
    let mut progres = tokio::time::Instant::now();
    loop {
        let lot = lire(pool.clone(), position).await;
        if !lot.is_empty() {
            progres = tokio::time::Instant::now();
        }
        for e in &lot {
            *vus.entry(e.event_id).or_default() += 1;
            let avant = derniere_sequence
                .insert(e.aggregate_id.clone(), e.sequence)
                .unwrap_or(0);
            if e.sequence <= avant {
                desordres += 1;
            }
            position = e.position();
        }
        if lot.is_empty() {
            if ecrivains.iter().all(tokio::task::JoinHandle::is_finished) {
                let (dans_le_magasin,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
                    .fetch_one(&pool)
                    .await
                    .expect("lecture");
                let tout_vu = i64::try_from(vus.len()).is_ok_and(|n| n >= dans_le_magasin);
                if tout_vu || progres.elapsed() > Duration::from_secs(5) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for e in ecrivains {
        e.await.expect("écrivain");
    }
    let total: (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .expect("lecture");
    let doubles = vus.values().filter(|&&n| n > 1).count();
    (
        usize::try_from(total.0).expect("positif"),
        vus.len(),
        doubles,
        desordres,
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn un_lecteur_qui_suit_huit_ecrivains_voit_chaque_evenement_une_fois_et_dans_l_ordre(
    pool: PgPool,
) {
    let (total, vus, doubles, desordres) =
        suivre_pendant_les_ecritures(pool, |pool, apres| async move {
            lecteur::lire_apres(&pool, apres, 500)
                .await
                .expect("lecture")
        })
        .await;
    assert!(
        total >= 64 + 8_000,
        "64 créations et au moins un événement par commande : {total}"
    );
    assert_eq!(vus, total, "chaque événement vu");
    assert_eq!(doubles, 0, "aucun vu deux fois");
    assert_eq!(desordres, 0, "chaque agrégat dans l'ordre");
}

/// The same run with the naive `global_position > checkpoint` tail: it loses events when
/// commits land out of order. Not part of CI (whether it loses some in a given run depends on
/// timing); run it with `cargo test -p commands --test magasin -- --ignored --nocapture`.
#[sqlx::test(migrations = "../migrations")]
#[ignore = "démonstration : le suivi naïf perd des événements"]
async fn demonstration_le_suivi_naif_perd_des_evenements(pool: PgPool) {
    let (total, vus, doubles, desordres) =
        suivre_pendant_les_ecritures(pool, |pool, apres| async move {
            lecteur::lire_apres_position_naive(&pool, apres.position, 500)
                .await
                .expect("lecture")
        })
        .await;
    println!("suivi naïf : {vus} vus sur {total}, {doubles} en double, {desordres} hors d'ordre");
    assert_eq!(
        vus,
        total,
        "le suivi naïf a perdu {} événements",
        total - vus
    );
}

/// Two processes on one store (two gateways, or a gateway and a worker): each decides on the
/// aggregates it holds in memory, which the other's writes leave behind the store.
#[sqlx::test(migrations = "../migrations")]
async fn un_etat_en_retard_sur_le_magasin_n_accepte_ni_ne_refuse_a_tort(pool: PgPool) {
    let (ici, ailleurs) = (depot(pool.clone()), depot(pool.clone()));
    let j = joueur(1).to_string();
    ouvert(&ici, 1).await;
    let herbe = || "herbe_medicinale".parse().expect("code");
    let negoce = |vendre: bool, n: u64| {
        let (marchand, item, quantite) = (
            "apothicaire_mirabelle".parse().expect("code"),
            herbe(),
            Quantite::parse(n).expect("quantité"),
        );
        if vendre {
            CommandeInventaire::Vendre {
                marchand,
                item,
                quantite,
            }
        } else {
            CommandeInventaire::Acheter {
                marchand,
                item,
                quantite,
            }
        }
    };
    // `ici` holds the inventory as it opened: no herb. `ailleurs` buys three.
    ailleurs
        .executer::<Inventaire>(&j, negoce(false, 3), &meta())
        .await
        .expect("achat ailleurs");
    // Selling a herb, refused on the state `ici` holds, passes on the store's.
    ici.executer::<Inventaire>(&j, negoce(true, 1), &meta())
        .await
        .expect("la vente se décide sur le flux entier");
    // `ailleurs` is behind now: its purchase lands after the sale, not over it.
    ailleurs
        .executer::<Inventaire>(&j, negoce(false, 1), &meta())
        .await
        .expect("achat sur l'état neuf");
    // And a refusal still comes when the whole stream refuses.
    let trop = ici
        .executer::<Inventaire>(&j, negoce(true, 4), &meta())
        .await;
    assert!(
        matches!(
            trop,
            Err(ErreurApplication::Regle(Refus::Inventaire(
                ErreurInventaire::ItemsInsuffisants { .. }
            )))
        ),
        "{trop:?}"
    );
    let inv = depot(pool.clone())
        .charger::<Inventaire>(&j)
        .await
        .expect("lecture")
        .expect("existe");
    let contenu = inv.contenu().expect("ouvert");
    assert_eq!(
        contenu.items.get(&herbe()),
        Some(&3),
        "3 achetées, 1 vendue, 1 achetée"
    );
    assert_eq!(
        contenu.or,
        Or::new(catalogue().regles().or_depart.pieces() - 9 + 1 - 3)
    );
    let sequences: Vec<(i64,)> = sqlx::query_as(
        "SELECT sequence FROM events WHERE aggregate_type = 'Inventaire' ORDER BY sequence",
    )
    .fetch_all(&pool)
    .await
    .expect("lecture");
    assert!(
        sequences
            .iter()
            .enumerate()
            .all(|(i, (s,))| Ok(*s) == i64::try_from(i + 1)),
        "{sequences:?}"
    );
}

/// The readers' wake-up: a command that writes notifies `evenements` after its commit (from a
/// transaction of its own, no longer from a trigger of the writing one).
#[sqlx::test(migrations = "../migrations")]
async fn une_ecriture_reveille_les_lecteurs(pool: PgPool) {
    let mut ecoute = magasin::suivi::ecouter(&pool).await.expect("écoute");
    let m = depot(pool.clone());
    cree(&m, 1).await;
    let notification = tokio::time::timeout(Duration::from_secs(10), ecoute.recv())
        .await
        .expect("une notification après l'écriture")
        .expect("notification lisible");
    assert_eq!(notification.channel(), magasin::suivi::CANAL);
    // A refusal writes nothing and wakes nobody.
    let refus = m
        .executer::<Joueur>(&joueur(1).to_string(), creer(1, Classe::Tank), &meta())
        .await;
    assert!(refus.is_err(), "{refus:?}");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), ecoute.recv())
            .await
            .is_err(),
        "un refus n'écrit rien et ne notifie pas"
    );
}

/// A reader of some aggregate types: the batch is the same events in global order, but only
/// those of its types come back, and its checkpoint moves past the others too.
#[sqlx::test(migrations = "../migrations")]
async fn un_lecteur_filtre_ne_recoit_que_ses_types_et_avance_au_dela_des_autres(pool: PgPool) {
    let m = depot(pool.clone());
    ouvert(&m, 1).await;
    cree(&m, 1).await;
    cree(&m, 2).await;
    // Other tests' transactions may hold the visibility horizon back for a moment: wait until
    // every event is visible (the horizon only moves forward, and nothing is written after).
    let (ecrits,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .expect("compte");
    let mut tous = Vec::new();
    for _ in 0..200 {
        tous = lecteur::lire_apres(&pool, PositionGlobale::DEBUT, 1_000)
            .await
            .expect("lecture");
        if i64::try_from(tous.len()) == Ok(ecrits) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(i64::try_from(tous.len()), Ok(ecrits), "horizon bloqué");
    let dernier = tous.last().expect("des événements").position();
    assert_eq!(
        tous.last().map(|e| e.aggregate_type.as_str()),
        Some("Joueur")
    );
    let lot = lecteur::lire_apres_de(&pool, PositionGlobale::DEBUT, 1_000, &["Inventaire"])
        .await
        .expect("lecture filtrée");
    assert_eq!(lot.lus, tous.len());
    assert_eq!(lot.jusqu_a, Some(dernier), "au-delà du dernier, un Joueur");
    let attendus: Vec<_> = tous
        .iter()
        .filter(|e| e.aggregate_type == "Inventaire")
        .collect();
    assert!(!attendus.is_empty());
    assert_eq!(lot.evenements.iter().collect::<Vec<_>>(), attendus);
    // A batch cut short counts what it held, and stops at its own last event.
    let court = lecteur::lire_apres_de(&pool, PositionGlobale::DEBUT, 2, &["Joueur"])
        .await
        .expect("lecture courte");
    assert_eq!(court.lus, 2);
    assert_eq!(court.jusqu_a, Some(tous[1].position()));
    let apres = lecteur::lire_apres_de(&pool, dernier, 1_000, &["Joueur"])
        .await
        .expect("lecture au bout");
    assert_eq!((apres.lus, apres.jusqu_a), (0, None));
}

#[sqlx::test(migrations = "../migrations")]
async fn un_refus_n_est_pas_retenu_le_meme_id_peut_etre_applique_ensuite_et_rejoue_sa_reponse(
    pool: PgPool,
) {
    // What doc/fiabilite.md §1 promises twins: only applied commands are remembered. A twin
    // decided before a change of state may be refused while its sibling, decided after, is
    // applied; once applied, every send of the id gets that application's answer.
    let m = depot(pool.clone());
    let j = joueur(1).to_string();
    ouvert(&m, 1).await;
    let kit = catalogue().regles().or_depart.pieces();
    let achat = CommandeInventaire::Acheter {
        marchand: "apothicaire_mirabelle".parse().expect("code"),
        item: "herbe_medicinale".parse().expect("code"),
        quantite: Quantite::parse(kit / 3 + 1).expect("quantité"),
    };
    let une_requete = meta();
    let premier = m
        .executer::<Inventaire>(&j, achat.clone(), &une_requete)
        .await;
    assert!(
        matches!(
            premier,
            Err(ErreurApplication::Regle(Refus::Inventaire(
                ErreurInventaire::OrInsuffisant { .. }
            )))
        ),
        "{premier:?}"
    );
    let butin = CommandeInventaire::RecevoirButin {
        combat_id: CombatId::from_uuid(Uuid::from_u64_pair(3, 1)),
        or: Or::new(100),
        items: Vec::new(),
    };
    m.executer::<Inventaire>(&j, butin, &meta())
        .await
        .expect("butin");
    let second = m
        .executer::<Inventaire>(&j, achat.clone(), &une_requete)
        .await
        .expect("le refus n'était pas retenu : appliquée sur l'état neuf");
    let troisieme = m
        .executer::<Inventaire>(&j, achat, &une_requete)
        .await
        .expect("la réponse de l'application");
    assert_eq!(second, troisieme);
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM events WHERE id_commande = $1")
        .bind(une_requete.id_commande)
        .fetch_one(&pool)
        .await
        .expect("lecture");
    assert_eq!(n, 2, "un débit et un ajout, une seule fois");
}

/// A store whose batches go one at a time (one in flight), so that commands sent while a
/// batch is blocked all wait for the next one: the tests set a batch's content that way.
fn depot_un_lot_a_la_fois(pool: PgPool) -> Depot {
    depot(pool).avec_ecriture(ReglagesEcriture {
        attente: Duration::ZERO,
        commandes_par_lot: 64,
        lots_en_vol: 1,
    })
}

/// The sessions blocked behind `tx`'s locks (a batch's statement waiting on a key `tx` wrote).
async fn bloques_par(
    pool: &PgPool,
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
) -> Vec<i32> {
    attendre_un_bloque(pool, tx).await;
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut **tx)
        .await
        .expect("pid");
    sqlx::query_as::<_, (i32,)>(
        "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
    )
    .bind(pid)
    .fetch_all(pool)
    .await
    .expect("pg_stat_activity")
    .into_iter()
    .map(|(p,)| p)
    .collect()
}

/// Waits until `n` commands wait for a batch (the one in flight is blocked).
async fn attendre_en_file(m: &Depot, n: u64) {
    for _ in 0..1_500 {
        if m.compteurs().ecriture.en_attente.load(Ordering::Relaxed) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("les commandes n'attendent jamais leur lot");
}

/// The transaction and sequence of each event a command id wrote.
async fn ecrits_par(pool: &PgPool, id_commande: Uuid) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT aggregate_id, sequence, transaction_id::text::bigint FROM events \
         WHERE id_commande = $1 ORDER BY global_position",
    )
    .bind(id_commande)
    .fetch_all(pool)
    .await
    .expect("lecture")
}

#[sqlx::test(migrations = "../migrations")]
async fn dans_un_lot_la_commande_en_conflit_est_redecidee_seule_et_les_autres_s_ecrivent_ensemble(
    pool: PgPool,
) {
    let ici = Arc::new(depot_un_lot_a_la_fois(pool.clone()));
    for n in 1..=4 {
        cree(&ici, n).await;
    }
    // Another process writes character 1: what `ici` holds of it is now behind the store.
    depot(pool.clone())
        .executer::<Joueur>(&joueur(1).to_string(), xp(900, 10), &meta())
        .await
        .expect("écriture ailleurs");
    // A batch blocked on character 4's key holds the only batch slot; 1, 2 and 3 queue up.
    let mut bloqueur = ecrivain_concurrent(&pool, &joueur(4).to_string(), 2).await;
    let bloquee = tokio::spawn({
        let ici = ici.clone();
        async move {
            ici.executer::<Joueur>(&joueur(4).to_string(), xp(904, 10), &meta())
                .await
        }
    });
    attendre_un_bloque(&pool, &mut bloqueur).await;
    let metas: Vec<Metadonnees> = (0..3).map(|_| meta()).collect();
    let taches: Vec<_> = (1..=3u64)
        .zip(metas.clone())
        .map(|(n, meta)| {
            let ici = ici.clone();
            tokio::spawn(async move {
                ici.executer::<Joueur>(&joueur(n).to_string(), xp(900 + n, 10), &meta)
                    .await
            })
        })
        .collect();
    attendre_en_file(&ici, 3).await;
    let lots_avant = ici.compteurs().ecriture.lots.load(Ordering::Relaxed);
    bloqueur
        .commit()
        .await
        .expect("l'autre écriture de 4 gagne");
    bloquee
        .await
        .expect("tâche")
        .expect("4, en conflit seule, redécidée");
    for t in taches {
        t.await.expect("tâche").expect("chaque commande passe");
    }
    let ecrits: Vec<_> = {
        let mut v = Vec::new();
        for m in &metas {
            v.push(ecrits_par(&pool, m.id_commande).await);
        }
        v
    };
    assert!(ecrits.iter().all(|e| e.len() == 1), "{ecrits:?}");
    let (un, deux, trois) = (&ecrits[0][0], &ecrits[1][0], &ecrits[2][0]);
    assert_eq!(
        deux.2, trois.2,
        "2 et 3 dans une transaction : un lot, un commit"
    );
    assert_ne!(un.2, deux.2, "1, en conflit, écrit seul après");
    assert_eq!(un.1, 3, "1 après l'écriture d'ailleurs, pas par-dessus");
    assert!(
        ici.compteurs().ecriture.lots.load(Ordering::Relaxed) >= lots_avant + 2,
        "le lot de 1, 2 et 3, puis 1 seule"
    );
    assert!(
        ici.compteurs().conflits.load(Ordering::Relaxed) >= 2,
        "1 et 4"
    );
    let fiche = depot(pool.clone())
        .charger::<Joueur>(&joueur(1).to_string())
        .await
        .expect("lecture")
        .expect("existe");
    assert_eq!(
        fiche.fiche().expect("créé").xp,
        20,
        "les deux gains, une fois chacun"
    );
    for n in 1..=4 {
        let sequences: Vec<(i64,)> =
            sqlx::query_as("SELECT sequence FROM events WHERE aggregate_id = $1 ORDER BY sequence")
                .bind(joueur(n).to_string())
                .fetch_all(&pool)
                .await
                .expect("lecture");
        assert!(
            sequences
                .iter()
                .enumerate()
                .all(|(i, (s,))| Ok(*s) == i64::try_from(i + 1)),
            "{n} : {sequences:?}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn un_lot_ou_deux_commandes_portent_le_meme_id_n_en_applique_qu_une(pool: PgPool) {
    let ici = Arc::new(depot_un_lot_a_la_fois(pool.clone()));
    for n in 1..=3 {
        cree(&ici, n).await;
    }
    let mut bloqueur = ecrivain_concurrent(&pool, &joueur(3).to_string(), 2).await;
    let bloquee = tokio::spawn({
        let ici = ici.clone();
        async move {
            ici.executer::<Joueur>(&joueur(3).to_string(), xp(903, 10), &meta())
                .await
        }
    });
    attendre_un_bloque(&pool, &mut bloqueur).await;
    // The same command id for two characters, in one batch (a client reusing its id).
    let une_requete = meta();
    let taches: Vec<_> = [1u64, 2]
        .into_iter()
        .map(|n| {
            let (ici, meta) = (ici.clone(), une_requete.clone());
            tokio::spawn(async move {
                (
                    n,
                    ici.executer::<Joueur>(&joueur(n).to_string(), xp(900 + n, 10), &meta)
                        .await,
                )
            })
        })
        .collect();
    attendre_en_file(&ici, 2).await;
    let lots_avant = ici.compteurs().ecriture.lots.load(Ordering::Relaxed);
    bloqueur.rollback().await.expect("annulation");
    bloquee.await.expect("tâche").expect("3 passe");
    let mut gagnant = None;
    for t in taches {
        match t.await.expect("tâche") {
            (n, Ok(evenements)) => {
                assert!(gagnant.replace(n).is_none(), "deux applications");
                assert_eq!(evenements.len(), 1);
            }
            (_, Err(ErreurApplication::CommandeReutilisee(id))) => {
                assert_eq!(id, une_requete.id_commande);
            }
            (n, Err(e)) => panic!("{n} : {e:?}"),
        }
    }
    let gagnant = gagnant.expect("une des deux appliquée");
    assert_eq!(
        ici.compteurs().ecriture.lots.load(Ordering::Relaxed),
        lots_avant + 2,
        "le lot de 3, puis 1 et 2 dans une instruction"
    );
    let ecrits = ecrits_par(&pool, une_requete.id_commande).await;
    assert_eq!(ecrits.len(), 1, "{ecrits:?}");
    assert_eq!(ecrits[0].0, joueur(gagnant).to_string());
    let (proprietaire,): (String,) =
        sqlx::query_as("SELECT aggregate_id FROM commandes_appliquees WHERE id_commande = $1")
            .bind(une_requete.id_commande)
            .fetch_one(&pool)
            .await
            .expect("trace de la commande");
    assert_eq!(proprietaire, joueur(gagnant).to_string());
    // Sent again later: the winner gets its first answer, the other is still refused.
    let perdant = 3 - gagnant;
    let rejeu = ici
        .executer::<Joueur>(
            &joueur(gagnant).to_string(),
            xp(900 + gagnant, 10),
            &une_requete,
        )
        .await
        .expect("la première réponse");
    assert_eq!(rejeu.len(), 1);
    assert!(matches!(
        ici.executer::<Joueur>(
            &joueur(perdant).to_string(),
            xp(900 + perdant, 10),
            &une_requete
        )
        .await,
        Err(ErreurApplication::CommandeReutilisee(_))
    ));
    assert_eq!(ecrits_par(&pool, une_requete.id_commande).await.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn un_lot_interrompu_en_pleine_ecriture_ne_laisse_rien_a_moitie_ecrit(pool: PgPool) {
    let ici = Arc::new(depot_un_lot_a_la_fois(pool.clone()));
    for n in 1..=4 {
        cree(&ici, n).await;
    }
    // A first batch blocked on 4 holds the slot while 1, 2 and 3 queue up; then the batch of
    // 1, 2 and 3 blocks on 3, and its connection is cut in the middle of its statement.
    let mut bloqueur_4 = ecrivain_concurrent(&pool, &joueur(4).to_string(), 2).await;
    let mut bloqueur_3 = ecrivain_concurrent(&pool, &joueur(3).to_string(), 2).await;
    let premiere = tokio::spawn({
        let ici = ici.clone();
        async move {
            ici.executer::<Joueur>(&joueur(4).to_string(), xp(904, 10), &meta())
                .await
        }
    });
    attendre_un_bloque(&pool, &mut bloqueur_4).await;
    let metas: Vec<Metadonnees> = (0..3).map(|_| meta()).collect();
    let lancer = |metas: Vec<Metadonnees>| -> Vec<_> {
        (1..=3u64)
            .zip(metas)
            .map(|(n, meta)| {
                let ici = ici.clone();
                tokio::spawn(async move {
                    ici.executer::<Joueur>(&joueur(n).to_string(), xp(900 + n, 10), &meta)
                        .await
                })
            })
            .collect()
    };
    let taches = lancer(metas.clone());
    attendre_en_file(&ici, 3).await;
    bloqueur_4.rollback().await.expect("annulation");
    premiere.await.expect("tâche").expect("4 passe");
    let lot = bloques_par(&pool, &mut bloqueur_3).await;
    assert_eq!(
        lot.len(),
        1,
        "une seule instruction pour 1, 2 et 3 : {lot:?}"
    );
    let (coupee,): (bool,) = sqlx::query_as("SELECT pg_terminate_backend($1)")
        .bind(lot[0])
        .fetch_one(&pool)
        .await
        .expect("coupure");
    assert!(coupee);
    for t in taches {
        let issue = t.await.expect("tâche");
        assert!(
            matches!(issue, Err(ErreurApplication::Stockage(_))),
            "{issue:?}"
        );
    }
    bloqueur_3.rollback().await.expect("annulation");
    for m in &metas {
        assert_eq!(
            ecrits_par(&pool, m.id_commande).await,
            vec![],
            "aucun événement"
        );
        let (traces,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM commandes_appliquees WHERE id_commande = $1")
                .bind(m.id_commande)
                .fetch_one(&pool)
                .await
                .expect("lecture");
        assert_eq!(traces, 0, "aucune trace de la commande");
    }
    // Sent again, each is applied once.
    for t in lancer(metas.clone()) {
        t.await.expect("tâche").expect("renvoyée, elle passe");
    }
    for m in &metas {
        assert_eq!(ecrits_par(&pool, m.id_commande).await.len(), 1);
    }
}

/// What one reader of a shared reader saw: each event's id and how often, and the aggregates
/// seen out of order.
#[derive(Default)]
struct Vu {
    fois: HashMap<Uuid, u32>,
    derniere_sequence: HashMap<String, i64>,
    desordres: usize,
}

impl Vu {
    fn voir(&mut self, e: &lecteur::EvenementStocke) {
        *self.fois.entry(e.event_id).or_default() += 1;
        let avant = self
            .derniere_sequence
            .insert(e.aggregate_id.clone(), e.sequence)
            .unwrap_or(0);
        if e.sequence <= avant {
            self.desordres += 1;
        }
    }
}

/// Follows the store through `source` from the start, `lot` events at a time, pausing `pause`
/// after each batch, until it has seen `total()` events (a total read once the writers are
/// done); `vus` counts them as they come.
async fn suivre_par(
    pool: PgPool,
    mut source: magasin::partage::Source,
    lot: i64,
    pause: Duration,
    fini: Arc<std::sync::atomic::AtomicI64>,
    vus: Arc<std::sync::atomic::AtomicUsize>,
) -> Vu {
    let (_arret, mut arret_rx) = tokio::sync::watch::channel(false);
    let mut vu = Vu::default();
    let mut position = PositionGlobale::DEBUT;
    let debut = tokio::time::Instant::now();
    loop {
        let evenements = source
            .lire_apres(&pool, position, lot)
            .await
            .expect("lecture");
        for e in &evenements {
            vu.voir(e);
            position = e.position();
        }
        vus.store(vu.fois.len(), Ordering::Relaxed);
        let total = fini.load(Ordering::Relaxed);
        if total >= 0 && i64::try_from(vu.fois.len()).is_ok_and(|n| n >= total) {
            return vu;
        }
        assert!(
            debut.elapsed() < Duration::from_mins(5),
            "{} vus, jamais {total}",
            vu.fois.len()
        );
        if evenements.is_empty() {
            source
                .attendre(position, Duration::from_millis(100), &mut arret_rx)
                .await
                .expect("attente");
        } else if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn chaque_lecteur_d_un_lecteur_partage_voit_chaque_evenement_une_fois_et_un_lent_rattrape_par_le_magasin(
    pool: PgPool,
) {
    use std::sync::atomic::{AtomicI64, AtomicUsize};
    // A buffer far smaller than the log: the slow reader falls out of it.
    let partage = magasin::partage::LecteurPartage::new(pool.clone(), 64);
    let (arret, arret_rx) = tokio::sync::watch::channel(false);
    let tete = partage.lancer(arret_rx);
    let fini = Arc::new(AtomicI64::new(-1));
    let lecteurs: Vec<_> = [
        (500, Duration::ZERO),
        (500, Duration::ZERO),
        (20, Duration::from_millis(100)),
    ]
    .into_iter()
    .map(|(lot, pause)| {
        let vus = Arc::new(AtomicUsize::new(0));
        let tache = tokio::spawn(suivre_par(
            pool.clone(),
            partage.source(),
            lot,
            pause,
            fini.clone(),
            vus.clone(),
        ));
        (tache, vus)
    })
    .collect();
    for e in huit_ecrivains(&pool, 250).await {
        e.await.expect("écrivain");
    }
    let (total,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .expect("compte");
    assert!(total >= 64 + 8 * 250, "{total}");
    fini.store(total, Ordering::Relaxed);
    let mut lecteurs = lecteurs.into_iter();
    let (rapides, lent): (Vec<_>, _) = (
        lecteurs.by_ref().take(2).collect(),
        lecteurs.next().expect("le lent"),
    );
    for (tache, _) in rapides {
        let vu = tache.await.expect("lecteur rapide");
        assert_eq!(
            i64::try_from(vu.fois.len()),
            Ok(total),
            "chaque événement vu"
        );
        assert!(vu.fois.values().all(|&n| n == 1), "aucun vu deux fois");
        assert_eq!(vu.desordres, 0, "chaque agrégat dans l'ordre");
    }
    // The fast readers are done while the slow one is still far behind: it held nobody.
    let vus_par_le_lent = lent.1.load(Ordering::Relaxed);
    assert!(
        i64::try_from(vus_par_le_lent).is_ok_and(|n| n < total),
        "le lent a déjà tout vu ({vus_par_le_lent}) : rien n'est montré"
    );
    let vu = lent.0.await.expect("lecteur lent");
    assert_eq!(
        i64::try_from(vu.fois.len()),
        Ok(total),
        "le lent rattrape tout"
    );
    assert!(vu.fois.values().all(|&n| n == 1), "aucun vu deux fois");
    assert_eq!(vu.desordres, 0, "chaque agrégat dans l'ordre");
    let compteurs = partage.compteurs();
    assert!(
        compteurs.servis_en_memoire.load(Ordering::Relaxed) > 0,
        "servis en mémoire"
    );
    assert!(
        compteurs.servis_par_le_magasin.load(Ordering::Relaxed) > 0,
        "le lent, sorti du tampon, lit le magasin"
    );
    arret.send(true).expect("arrêt");
    tete.await.expect("lecteur partagé");
}
