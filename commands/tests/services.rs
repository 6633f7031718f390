//! The application services against the real PostgreSQL: the checks that need data from
//! elsewhere (name uniqueness, characters per account, ownership, quest prerequisites read from
//! other streams) and the multi-command flows (engaging and freeing combatants, escrowed
//! trades). Each test gets its own database.

mod commun;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use commands::services::{combat, economie, joueur, quete};
use commands::{Depot, ErreurApplication, Refus};
use domain::Catalogue;
use domain::combat::{Action, ErreurCombat};
use domain::echange::Offre;
use domain::ids::{CompteId, JoueurId};
use domain::inventaire::Inventaire;
use domain::joueur::{CommandeJoueur, ErreurJoueur, Joueur, SourceXp};
use domain::quete::{CommandeQuete, ErreurQuete, Fait, Quete, QueteId};
use domain::valeurs::{Classe, CodeQuete, NomJoueur, Or, Quantite};
use magasin::Metadonnees;
use sqlx::PgPool;
use uuid::Uuid;

use commun::{jouer, monde_de};

fn depot(pool: PgPool) -> Arc<Depot> {
    Arc::new(Depot::new(pool, Catalogue::officiel().expect("catalogue")))
}

async fn compte(pool: &PgPool, n: u64) -> CompteId {
    let id = CompteId::from_uuid(Uuid::from_u64_pair(2, n));
    sqlx::query("INSERT INTO comptes (compte_id, login, mot_de_passe) VALUES ($1, $2, 'x')")
        .bind(id.uuid())
        .bind(format!("compte{n}"))
        .execute(pool)
        .await
        .expect("compte");
    id
}

fn meta(compte: CompteId) -> Metadonnees {
    Metadonnees::pour_compte(compte, Uuid::new_v4(), Uuid::new_v4(), Utc::now())
}

/// A trade's deadline no test here reaches.
fn dans_dix_minutes() -> domain::valeurs::Horodatage {
    Utc::now() + chrono::TimeDelta::minutes(10)
}

fn nom(s: &str) -> NomJoueur {
    NomJoueur::parse(s).expect("nom")
}

async fn personnage(m: &Depot, compte: CompteId, n: &str, classe: Classe) -> JoueurId {
    joueur::creer_personnage(m, compte, nom(n), classe, &meta(compte))
        .await
        .expect("création")
}

#[sqlx::test(migrations = "../migrations")]
async fn un_nom_est_unique_dans_tout_le_jeu_sans_egard_a_la_casse(pool: PgPool) {
    let m = depot(pool.clone());
    let (a, b) = (compte(&pool, 1).await, compte(&pool, 2).await);
    personnage(&m, a, "Aragorn", Classe::Tank).await;
    let pris = joueur::creer_personnage(&m, b, nom("aragorn"), Classe::Dps, &meta(b)).await;
    assert!(
        matches!(pris, Err(ErreurApplication::NomDejaPris(_))),
        "{pris:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn dix_comptes_qui_veulent_le_meme_nom_en_meme_temps_un_seul_l_obtient(pool: PgPool) {
    let m = depot(pool.clone());
    let mut taches = Vec::new();
    for n in 0..10 {
        let c = compte(&pool, n).await;
        let m = m.clone();
        taches.push(tokio::spawn(async move {
            joueur::creer_personnage(&m, c, nom("Gandalf"), Classe::Heal, &meta(c)).await
        }));
    }
    let mut gagnants = 0;
    for t in taches {
        match t.await.expect("tâche") {
            Ok(_) => gagnants += 1,
            Err(ErreurApplication::NomDejaPris(_)) => {}
            Err(e) => panic!("refus inattendu : {e}"),
        }
    }
    assert_eq!(gagnants, 1);
    let joueurs: (i64,) =
        sqlx::query_as("SELECT count(*) FROM events WHERE event_type = 'JoueurCree'")
            .fetch_one(&pool)
            .await
            .expect("lecture");
    assert_eq!(joueurs.0, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn un_compte_ne_depasse_pas_sa_limite_de_personnages_meme_en_concurrence(pool: PgPool) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let max = m.catalogue().regles().personnages_par_compte;
    let taches: Vec<_> = (0..max + 3)
        .map(|i| {
            let m = m.clone();
            tokio::spawn(async move {
                joueur::creer_personnage(&m, c, nom(&format!("Heros{i}")), Classe::Dps, &meta(c))
                    .await
            })
        })
        .collect();
    let mut crees = 0;
    for t in taches {
        match t.await.expect("tâche") {
            Ok(_) => crees += 1,
            Err(ErreurApplication::TropDePersonnages { max: m2 }) => assert_eq!(m2, max),
            Err(e) => panic!("refus inattendu : {e}"),
        }
    }
    assert_eq!(crees, max);
}

#[sqlx::test(migrations = "../migrations")]
async fn une_creation_rejouee_ne_cree_qu_un_personnage_et_un_inventaire(pool: PgPool) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let requete = meta(c);
    let premier = joueur::creer_personnage(&m, c, nom("Frodon"), Classe::Heal, &requete)
        .await
        .expect("création");
    let rejoue = joueur::creer_personnage(&m, c, nom("Frodon"), Classe::Heal, &requete)
        .await
        .expect("la même réponse");
    assert_eq!(premier, rejoue);
    let inventaire = m
        .charger::<Inventaire>(&premier.to_string())
        .await
        .expect("lecture")
        .expect("inventaire ouvert avec le personnage");
    let kit = m.catalogue().regles().or_depart;
    assert_eq!(
        inventaire.contenu().expect("ouvert").or,
        kit,
        "kit crédité une fois"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn on_n_agit_jamais_pour_le_personnage_d_un_autre_compte(pool: PgPool) {
    let m = depot(pool.clone());
    let (a, b) = (compte(&pool, 1).await, compte(&pool, 2).await);
    let a_lui = personnage(&m, a, "Boromir", Classe::Tank).await;
    let intrus = meta(b);
    let preparer = combat::preparer(
        &m,
        &monde_de(&m).await,
        b,
        a_lui,
        "meute_de_loups".parse().expect("code"),
        &intrus,
    )
    .await;
    assert!(
        matches!(preparer, Err(ErreurApplication::Interdit)),
        "{preparer:?}"
    );
    let achat = economie::acheter(
        &m,
        &monde_de(&m).await,
        b,
        a_lui,
        economie::Negoce {
            marchand: "apothicaire_mirabelle".parse().expect("code"),
            item: "pain".parse().expect("code"),
            quantite: Quantite::UN,
        },
        &intrus,
    )
    .await;
    assert!(
        matches!(achat, Err(ErreurApplication::Interdit)),
        "{achat:?}"
    );
    let accepter = quete::accepter(&m, b, a_lui, "rempart".parse().expect("code"), &intrus).await;
    assert!(
        matches!(accepter, Err(ErreurApplication::Interdit)),
        "{accepter:?}"
    );
    let fantome = JoueurId::from_uuid(Uuid::from_u64_pair(1, 999));
    let inconnu = economie::jeter(
        &m,
        a,
        fantome,
        "pain".parse().expect("code"),
        Quantite::UN,
        &meta(a),
    )
    .await;
    assert!(
        matches!(inconnu, Err(ErreurApplication::Introuvable { .. })),
        "{inconnu:?}"
    );
    let evenements: (i64,) = sqlx::query_as("SELECT count(*) FROM events WHERE compte_id = $1")
        .bind(b.uuid())
        .fetch_one(&pool)
        .await
        .expect("lecture");
    assert_eq!(evenements.0, 0, "rien n'a été écrit au nom de l'intrus");
}

#[sqlx::test(migrations = "../migrations")]
async fn les_prerequis_d_une_quete_se_lisent_dans_les_flux_du_personnage(pool: PgPool) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let j = personnage(&m, c, "Samsagace", Classe::Heal).await;
    let toile: CodeQuete = "toile_maudite".parse().expect("code");
    // Level 3 first (toile_maudite's minimum), through the aggregate like a reward would.
    let xp = CommandeJoueur::GagnerXp {
        source: SourceXp::Quete("aguerri".parse().expect("code")),
        xp: 300,
    };
    m.executer::<Joueur>(&j.to_string(), xp, &meta(c))
        .await
        .expect("xp");
    let sans = quete::accepter(&m, c, j, toile.clone(), &meta(c)).await;
    assert!(
        matches!(sans, Err(ErreurApplication::Regle(Refus::Quete(ErreurQuete::PrerequisManquant(ref p)))) if p.as_str() == "chasse_aux_loups"),
        "{sans:?}"
    );
    quete::accepter(
        &m,
        c,
        j,
        "chasse_aux_loups".parse().expect("code"),
        &meta(c),
    )
    .await
    .expect("acceptation");
    let victoire = Fait::CombatTermine {
        combat_id: domain::ids::CombatId::generer(),
        victoire: true,
        classe: Classe::Heal,
        monstres_vaincus: vec!["loup".parse().expect("code"); 4],
    };
    let id = QueteId {
        joueur_id: j,
        quete: "chasse_aux_loups".parse().expect("code"),
    };
    m.executer::<Quete>(
        &id.to_string(),
        CommandeQuete::Progresser { fait: victoire },
        &meta(c),
    )
    .await
    .expect("progression");
    quete::accepter(&m, c, j, toile, &meta(c))
        .await
        .expect("le prérequis terminé se lit dans son flux");
}

#[sqlx::test(migrations = "../migrations")]
async fn un_combat_engage_ses_participants_puis_les_libere_a_la_fin(pool: PgPool) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let tank = personnage(&m, c, "Gimli", Classe::Tank).await;
    let heal = personnage(&m, c, "Elrond", Classe::Heal).await;
    let combat_id = combat::preparer(
        &m,
        &monde_de(&m).await,
        c,
        tank,
        "meute_de_loups".parse().expect("code"),
        &meta(c),
    )
    .await
    .expect("préparation");
    combat::rejoindre(&m, &monde_de(&m).await, c, heal, combat_id, &meta(c))
        .await
        .expect("rejoindre");
    let ailleurs = combat::preparer(
        &m,
        &monde_de(&m).await,
        c,
        heal,
        "meute_de_loups".parse().expect("code"),
        &meta(c),
    )
    .await;
    assert!(
        matches!(ailleurs, Err(ErreurApplication::Regle(Refus::Joueur(ErreurJoueur::DejaEnCombat(id)))) if id == combat_id),
        "{ailleurs:?}"
    );
    combat::lancer(&m, c, tank, combat_id, &meta(c))
        .await
        .expect("lancer");
    // Play it out with the scripted policy, through the service.
    jouer(&m, c, combat_id).await;
    for j in [tank, heal] {
        let fiche = m
            .charger::<Joueur>(&j.to_string())
            .await
            .expect("lecture")
            .expect("joueur");
        assert_eq!(fiche.fiche().expect("créé").combat, None, "libéré à la fin");
    }
    let fini = combat::agir(&m, c, tank, combat_id, Action::Defendre {}, &meta(c)).await;
    assert!(
        matches!(
            fini,
            Err(ErreurApplication::Regle(Refus::Combat(
                ErreurCombat::CombatTermine
            )))
        ),
        "{fini:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_echange_reserve_regle_les_deux_cotes_et_ne_cree_rien(pool: PgPool) {
    let m = depot(pool.clone());
    let (a, b) = (compte(&pool, 1).await, compte(&pool, 2).await);
    let pa = personnage(&m, a, "Arwen", Classe::Heal).await;
    let pb = personnage(&m, b, "Eowyn", Classe::Dps).await;
    let pain: domain::valeurs::CodeItem = "pain".parse().expect("code");
    let offre_a = Offre {
        or: Or::new(10),
        items: BTreeMap::new(),
    };
    let offre_b = Offre {
        or: Or::ZERO,
        items: BTreeMap::from([(pain.clone(), Quantite::parse(2).expect("quantité"))]),
    };
    let echange = economie::proposer(&m, a, pa, pb, offre_a, dans_dix_minutes(), &meta(a))
        .await
        .expect("proposition");
    // Reserved gold cannot be spent meanwhile.
    let kit = m.catalogue().regles().or_depart.pieces();
    let trop = economie::acheter(
        &m,
        &monde_de(&m).await,
        a,
        pa,
        economie::Negoce {
            marchand: "apothicaire_mirabelle".parse().expect("code"),
            item: "herbe_medicinale".parse().expect("code"),
            quantite: Quantite::parse(kit / 3).expect("quantité"),
        },
        &meta(a),
    )
    .await;
    assert!(
        matches!(trop, Err(ErreurApplication::Regle(Refus::Inventaire(_)))),
        "{trop:?}"
    );
    economie::modifier(&m, b, pb, echange, offre_b, &meta(b))
        .await
        .expect("contre-offre");
    economie::accepter(&m, a, pa, echange, &meta(a))
        .await
        .expect("A accepte");
    economie::accepter(&m, b, pb, echange, &meta(b))
        .await
        .expect("B accepte et conclut");

    let contenu = |j: JoueurId| {
        let m = m.clone();
        async move {
            m.charger::<Inventaire>(&j.to_string())
                .await
                .expect("lecture")
                .and_then(|i| i.contenu().cloned())
                .expect("inventaire")
        }
    };
    let (ia, ib) = (contenu(pa).await, contenu(pb).await);
    let pains_du_kit = m
        .catalogue()
        .regles()
        .kit_depart
        .iter()
        .find(|l| l.item == pain)
        .map_or(0, |l| l.quantite.valeur());
    assert_eq!((ia.or.pieces(), ib.or.pieces()), (kit - 10, kit + 10));
    assert_eq!(ia.items.get(&pain), Some(&(pains_du_kit + 2)));
    assert_eq!(ib.items.get(&pain).copied().unwrap_or(0), pains_du_kit - 2);
    assert!(
        ia.reservations.is_empty() && ib.reservations.is_empty(),
        "plus rien de bloqué"
    );
    // Accepting again after the settlement changes nothing.
    let encore = economie::accepter(&m, a, pa, echange, &meta(a)).await;
    assert!(encore.is_err(), "{encore:?}");
    assert_eq!(contenu(pa).await, ia);
}

#[sqlx::test(migrations = "../migrations")]
async fn rejoindre_deux_fois_un_combat_ne_libere_pas_le_participant(pool: PgPool) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let tank = personnage(&m, c, "Gimli", Classe::Tank).await;
    let heal = personnage(&m, c, "Elrond", Classe::Heal).await;
    let loups = || "meute_de_loups".parse().expect("code");
    let combat_id = combat::preparer(&m, &monde_de(&m).await, c, tank, loups(), &meta(c))
        .await
        .expect("préparation");
    combat::rejoindre(&m, &monde_de(&m).await, c, heal, combat_id, &meta(c))
        .await
        .expect("rejoindre");
    for (qui, refus) in [
        (heal, ErreurCombat::DejaParticipant),
        (tank, ErreurCombat::DejaParticipant),
    ] {
        let encore = combat::rejoindre(&m, &monde_de(&m).await, c, qui, combat_id, &meta(c)).await;
        assert!(
            matches!(&encore, Err(ErreurApplication::Regle(Refus::Combat(e))) if *e == refus),
            "{encore:?}"
        );
        let fiche = m
            .charger::<Joueur>(&qui.to_string())
            .await
            .expect("lecture")
            .and_then(|j| j.fiche().cloned())
            .expect("fiche");
        assert_eq!(fiche.combat, Some(combat_id), "toujours engagé");
    }
    let ailleurs = combat::preparer(&m, &monde_de(&m).await, c, heal, loups(), &meta(c)).await;
    assert!(
        matches!(ailleurs, Err(ErreurApplication::Regle(Refus::Joueur(ErreurJoueur::DejaEnCombat(id)))) if id == combat_id),
        "{ailleurs:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn une_offre_pour_un_echange_inconnu_ne_bloque_rien(pool: PgPool) {
    let m = depot(pool.clone());
    let a = compte(&pool, 1).await;
    let pa = personnage(&m, a, "Arwen", Classe::Heal).await;
    let kit = m.catalogue().regles().or_depart;
    let inconnu = domain::ids::EchangeId::from_uuid(Uuid::new_v4());
    let tout = Offre {
        or: kit,
        items: BTreeMap::new(),
    };
    let refus = economie::modifier(&m, a, pa, inconnu, tout, &meta(a)).await;
    assert!(
        matches!(
            refus,
            Err(ErreurApplication::Regle(Refus::Echange(
                domain::echange::ErreurEchange::EchangeInexistant
            )))
        ),
        "{refus:?}"
    );
    // All the gold is still free to spend.
    economie::acheter(
        &m,
        &monde_de(&m).await,
        a,
        pa,
        economie::Negoce {
            marchand: "apothicaire_mirabelle".parse().expect("code"),
            item: "herbe_medicinale".parse().expect("code"),
            quantite: Quantite::parse(kit.pieces() / 3).expect("quantité"),
        },
        &meta(a),
    )
    .await
    .expect("l'or n'est pas resté réservé");
}

/// Asserts a refusal of the game, by its code (`RENCONTRE_INCONNUE`...).
#[track_caller]
fn refuse<T: std::fmt::Debug>(resultat: &Result<T, ErreurApplication>, code: &str) {
    assert!(
        matches!(resultat, Err(ErreurApplication::Regle(r)) if r.code() == code),
        "{code} attendu : {resultat:?}"
    );
}

/// Every event of an aggregate's stream, oldest first, as `(event_type, id_commande)`.
async fn flux(pool: &PgPool, type_agregat: &str, id: &str) -> Vec<(String, Option<Uuid>)> {
    sqlx::query_as(
        "SELECT event_type, id_commande FROM events \
         WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(type_agregat)
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("lecture")
}

/// How many events the store holds in all.
async fn evenements(pool: &PgPool) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .expect("lecture");
    n
}

#[sqlx::test(migrations = "../migrations")]
async fn un_combat_refuse_avant_d_exister_n_ecrit_rien(pool: PgPool) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let tank = personnage(&m, c, "Gimli", Classe::Tank).await;
    let monde = monde_de(&m).await;
    let avant = evenements(&pool).await;
    let inconnue = combat::preparer(
        &m,
        &monde,
        c,
        tank,
        "dragon".parse().expect("code"),
        &meta(c),
    )
    .await;
    refuse(&inconnue, "RENCONTRE_INCONNUE");
    let ailleurs = combat::preparer(
        &m,
        &monde,
        c,
        tank,
        "troll_des_cimes".parse().expect("code"),
        &meta(c),
    )
    .await;
    refuse(&ailleurs, "RENCONTRE_HORS_ZONE");
    let fantome = domain::ids::CombatId::from_uuid(Uuid::new_v4());
    let inexistant = combat::rejoindre(&m, &monde, c, tank, fantome, &meta(c)).await;
    refuse(&inexistant, "COMBAT_INEXISTANT");
    assert_eq!(
        evenements(&pool).await,
        avant,
        "ni EntreEnCombat ni SortiDuCombat pour un combat qui n'a jamais existé : {:?}",
        flux(&pool, "Joueur", &tank.to_string()).await
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn rejoindre_un_combat_qui_refuserait_n_engage_personne(pool: PgPool) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let tank = personnage(&m, c, "Gimli", Classe::Tank).await;
    let heal = personnage(&m, c, "Elrond", Classe::Heal).await;
    let monde = monde_de(&m).await;
    let combat_id = combat::preparer(
        &m,
        &monde,
        c,
        tank,
        "meute_de_loups".parse().expect("code"),
        &meta(c),
    )
    .await
    .expect("préparation");
    combat::lancer(&m, c, tank, combat_id, &meta(c))
        .await
        .expect("lancer");
    let avant = evenements(&pool).await;
    let tard = combat::rejoindre(&m, &monde, c, heal, combat_id, &meta(c)).await;
    refuse(&tard, "COMBAT_DEJA_LANCE");
    assert_eq!(
        evenements(&pool).await,
        avant,
        "{:?}",
        flux(&pool, "Joueur", &heal.to_string()).await
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn une_demande_de_combat_rejouee_recoit_sa_premiere_reponse_meme_si_elle_refuserait_maintenant(
    pool: PgPool,
) {
    let m = depot(pool.clone());
    let c = compte(&pool, 1).await;
    let tank = personnage(&m, c, "Gimli", Classe::Tank).await;
    let heal = personnage(&m, c, "Elrond", Classe::Heal).await;
    let monde = monde_de(&m).await;
    let loups = || "meute_de_loups".parse().expect("code");
    let demarrer = meta(c);
    let combat_id = combat::preparer(&m, &monde, c, tank, loups(), &demarrer)
        .await
        .expect("préparation");
    let entrer = meta(c);
    let rejoint = combat::rejoindre(&m, &monde, c, heal, combat_id, &entrer)
        .await
        .expect("rejoindre");
    combat::lancer(&m, c, tank, combat_id, &meta(c))
        .await
        .expect("lancer");
    // The replay's parameters are not compared: another encounter, even an unknown one.
    let encore = combat::preparer(
        &m,
        &monde,
        c,
        tank,
        "dragon".parse().expect("code"),
        &demarrer,
    )
    .await
    .expect("la première réponse");
    assert_eq!(encore, combat_id);
    let encore = combat::rejoindre(&m, &monde, c, heal, combat_id, &entrer)
        .await
        .expect("la première réponse, pas COMBAT_DEJA_LANCE");
    assert_eq!(encore, rejoint);
}

#[sqlx::test(migrations = "../migrations")]
async fn une_offre_refusee_avant_l_echange_ne_reserve_rien(pool: PgPool) {
    let m = depot(pool.clone());
    let (a, b, c) = (
        compte(&pool, 1).await,
        compte(&pool, 2).await,
        compte(&pool, 3).await,
    );
    let pa = personnage(&m, a, "Arwen", Classe::Heal).await;
    let pb = personnage(&m, b, "Eowyn", Classe::Dps).await;
    let pc = personnage(&m, c, "Faramir", Classe::Tank).await;
    let dix = || Offre {
        or: Or::new(10),
        items: BTreeMap::new(),
    };
    let avant = evenements(&pool).await;
    let soi = economie::proposer(&m, a, pa, pa, dix(), dans_dix_minutes(), &meta(a)).await;
    refuse(&soi, "AVEC_SOI_MEME");
    let inconnu = domain::ids::EchangeId::from_uuid(Uuid::new_v4());
    let refus = economie::modifier(&m, a, pa, inconnu, dix(), &meta(a)).await;
    refuse(&refus, "ECHANGE_INEXISTANT");
    assert_eq!(
        evenements(&pool).await,
        avant,
        "ni OffreReservee ni ReservationLiberee : {:?}",
        flux(&pool, "Inventaire", &pa.to_string()).await
    );
    let echange = economie::proposer(&m, a, pa, pb, dix(), dans_dix_minutes(), &meta(a))
        .await
        .expect("proposition");
    let avant = evenements(&pool).await;
    let intrus = economie::modifier(&m, c, pc, echange, dix(), &meta(c)).await;
    refuse(&intrus, "PAS_PARTIE");
    economie::annuler(&m, b, pb, echange, &meta(b))
        .await
        .expect("annulation");
    let avant_clos = evenements(&pool).await;
    assert!(avant_clos > avant);
    let clos = economie::modifier(&m, b, pb, echange, dix(), &meta(b)).await;
    assert!(clos.is_err(), "{clos:?}");
    assert_eq!(
        evenements(&pool).await,
        avant_clos,
        "{:?}",
        flux(&pool, "Inventaire", &pc.to_string()).await
    );
    assert_eq!(
        flux(&pool, "Inventaire", &pc.to_string())
            .await
            .iter()
            .filter(|(genre, _)| genre.starts_with("Offre") || genre.starts_with("Reservation"))
            .count(),
        0,
        "l'intrus n'a rien réservé"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn une_creation_rejouee_avec_un_autre_nom_rend_la_premiere_reponse_et_ne_prend_pas_le_nom(
    pool: PgPool,
) {
    let m = depot(pool.clone());
    let (a, b) = (compte(&pool, 1).await, compte(&pool, 2).await);
    let requete = meta(a);
    let premier = joueur::creer_personnage(&m, a, nom("Frodon"), Classe::Heal, &requete)
        .await
        .expect("création");
    let rejoue = joueur::creer_personnage(&m, a, nom("Bilbon"), Classe::Tank, &requete)
        .await
        .expect("la réponse de la première application, pas NOM_DEJA_PRIS");
    assert_eq!(premier, rejoue);
    let fiche = m
        .charger::<Joueur>(&premier.to_string())
        .await
        .expect("lecture")
        .and_then(|j| j.fiche().cloned())
        .expect("fiche");
    assert_eq!((fiche.nom.as_str(), fiche.classe), ("Frodon", Classe::Heal));
    // The replay's name was never reserved: another account takes it.
    joueur::creer_personnage(&m, b, nom("Bilbon"), Classe::Dps, &meta(b))
        .await
        .expect("le nom du rejeu est libre");
}

#[sqlx::test(migrations = "../migrations")]
async fn une_creation_interrompue_apres_la_reservation_reprend_avec_le_nom_reserve(pool: PgPool) {
    let m = depot(pool.clone());
    let (a, b) = (compte(&pool, 1).await, compte(&pool, 2).await);
    let requete = meta(a);
    // What a first attempt leaves when it dies between the reservation and `Creer`.
    let joueur_id = Uuid::new_v5(&requete.id_commande, b"joueur");
    sqlx::query(
        "INSERT INTO noms_joueurs (cle, nom, joueur_id, compte_id) VALUES ('frodon', 'Frodon', $1, $2)",
    )
    .bind(joueur_id)
    .bind(a.uuid())
    .execute(&pool)
    .await
    .expect("réservation");
    let cree = joueur::creer_personnage(&m, a, nom("Bilbon"), Classe::Heal, &requete)
        .await
        .expect("création");
    assert_eq!(cree.uuid(), joueur_id);
    let fiche = m
        .charger::<Joueur>(&cree.to_string())
        .await
        .expect("lecture")
        .and_then(|j| j.fiche().cloned())
        .expect("fiche");
    assert_eq!(
        fiche.nom.as_str(),
        "Frodon",
        "le nom que la requête a réservé"
    );
    // The same command id from another account is another target.
    let autre = joueur::creer_personnage(&m, b, nom("Bilbon"), Classe::Heal, &requete).await;
    assert!(
        matches!(autre, Err(ErreurApplication::CommandeReutilisee(id)) if id == requete.id_commande),
        "{autre:?}"
    );
}
