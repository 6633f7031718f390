//! Service Monde against the real PostgreSQL and Redis: placement, moves checked (bounds,
//! speed), portals (standing at one, at its level), presence and who is near, the interest
//! cells (a character noted in its cell, moved out of it, a stale mark never shown), and the
//! write-behind: PostgreSQL catches up with Redis when the dirty positions are written, and
//! positions come back from PostgreSQL when Redis lost them. Each test gets its own database
//! and its own Redis prefix.

mod commun;

use commands::services::monde::Emplacement;
use commands::{ErreurApplication, Refus};
use commun::{Banc, position, zone};
use domain::monde::ErreurMonde;
use domain::valeurs::Niveau;
use sqlx::PgPool;

fn refus_monde<T: std::fmt::Debug>(r: Result<T, ErreurApplication>) -> ErreurMonde {
    match r {
        Err(ErreurApplication::Regle(Refus::Monde(e))) => e,
        Err(ErreurApplication::PasRefuse { refus, .. }) => refus,
        autre => panic!("refus de Monde attendu : {autre:?}"),
    }
}

/// Who the cell index shows in these cells of `zone`.
async fn visibles(
    b: &Banc,
    zone: &domain::valeurs::CodeZone,
    cellules: &[domain::interet::Cellule],
) -> Vec<domain::ids::JoueurId> {
    b.monde
        .visibles(zone, cellules)
        .await
        .expect("visibles")
        .into_iter()
        .map(|v| v.joueur_id)
        .collect()
}

/// A refused step: why, and where the character still stands.
fn pas_refuse<T: std::fmt::Debug>(r: Result<T, ErreurApplication>) -> (ErreurMonde, Emplacement) {
    match r {
        Err(ErreurApplication::PasRefuse {
            refus,
            zone,
            position,
        }) => (refus, Emplacement { zone, position }),
        autre => panic!("pas refusé attendu : {autre:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn placer_au_depart_est_idempotent_et_durable(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Aldo").await;
    let depart = Emplacement {
        zone: zone("plaine_verte"),
        position: position(100.0, 100.0),
    };
    assert_eq!(b.en_base(j).await, Some(depart.clone()), "écrit en base");
    assert_eq!(b.monde.emplacement(j).await.expect("lu"), Some(depart));

    b.pas(c, j, position(103.0, 100.0)).await;
    let encore = b.monde.placer_au_depart(j).await.expect("idempotent");
    assert_eq!(encore.position, position(103.0, 100.0), "reste où il est");
}

#[sqlx::test(migrations = "../migrations")]
async fn un_personnage_inconnu_n_est_pas_place(pool: PgPool) {
    let b = Banc::new(pool).await;
    let r = b
        .monde
        .placer_au_depart(domain::ids::JoueurId::generer())
        .await;
    assert!(
        matches!(r, Err(ErreurApplication::Introuvable { .. })),
        "{r:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_teleport_est_refuse_et_la_zone_a_des_bords(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Bea").await;
    let (e, ici) = pas_refuse(b.monde.deplacer(c, j, position(180.0, 180.0)).await);
    assert!(matches!(e, ErreurMonde::TropRapide { .. }), "{e:?}");
    let depart = Emplacement {
        zone: zone("plaine_verte"),
        position: position(100.0, 100.0),
    };
    assert_eq!(ici, depart, "le refus dit où le personnage se tient");
    assert_eq!(
        b.monde.emplacement(j).await.expect("lu"),
        Some(depart),
        "un refus ne bouge rien"
    );
    // The plain is 1,000 m wide: a step onto its edge passes, a step past it does not.
    b.placer(j, position(999.0, 100.0)).await;
    b.pas(c, j, position(999.5, 100.0)).await;
    let (e, ici) = pas_refuse(b.monde.deplacer(c, j, position(1000.5, 100.0)).await);
    assert_eq!(
        e,
        ErreurMonde::HorsZone {
            zone: zone("plaine_verte"),
            largeur: 1000,
            hauteur: 1000
        }
    );
    assert_eq!(ici.position, position(999.5, 100.0));
    b.pas(c, j, position(1000.0, 100.0)).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn seul_le_proprietaire_deplace_son_personnage(pool: PgPool) {
    let b = Banc::new(pool).await;
    let (c1, c2) = (b.compte(1).await, b.compte(2).await);
    let j = b.personnage(c1, "Cora").await;
    let r = b.monde.deplacer(c2, j, position(101.0, 100.0)).await;
    assert!(matches!(r, Err(ErreurApplication::Interdit)), "{r:?}");
    let r = b.monde.changer_zone(c2, j, zone("foret_sombre")).await;
    assert!(matches!(r, Err(ErreurApplication::Interdit)), "{r:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn un_portail_demande_d_y_etre_et_d_avoir_son_niveau(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Dario").await;
    let foret = zone("foret_sombre");

    let e = refus_monde(b.monde.changer_zone(c, j, foret.clone()).await);
    assert!(matches!(e, ErreurMonde::LoinDuPortail { .. }), "{e:?}");
    let e = refus_monde(b.monde.changer_zone(c, j, zone("crypte_oubliee")).await);
    assert!(matches!(e, ErreurMonde::PasDePortail { .. }), "{e:?}");

    b.placer(j, position(194.0, 100.0)).await;
    let e = refus_monde(b.monde.changer_zone(c, j, foret.clone()).await);
    assert_eq!(
        e,
        ErreurMonde::NiveauInsuffisant {
            requis: Niveau::parse(2).expect("niveau"),
            niveau: Niveau::UN
        }
    );

    b.au_niveau(c, j, 2).await;
    let arrivee = b
        .monde
        .changer_zone(c, j, foret.clone())
        .await
        .expect("passe");
    let attendu = Emplacement {
        zone: foret.clone(),
        position: position(10.0, 150.0),
    };
    assert_eq!(arrivee, attendu);
    assert_eq!(
        b.en_base(j).await,
        Some(attendu),
        "un changement de zone est écrit en base aussitôt"
    );
    let presents = b.monde.presents(&foret).await.expect("présents");
    assert_eq!(
        presents.iter().map(|p| p.joueur_id).collect::<Vec<_>>(),
        vec![j]
    );
    assert!(
        b.monde
            .presents(&zone("plaine_verte"))
            .await
            .expect("présents")
            .is_empty()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_changement_de_zone_rejoue_rend_la_meme_arrivee(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Dora").await;
    let foret = zone("foret_sombre");
    let arrivee = b.aller_en_foret(c, j).await;
    // The first answer was lost: the client sends it again.
    let encore = b
        .monde
        .changer_zone(c, j, foret.clone())
        .await
        .expect("le rejeu réussit");
    assert_eq!(encore, arrivee);
    assert_eq!(b.en_base(j).await, Some(arrivee));
    // Once it moved on, it is no longer a retry.
    b.pas(c, j, position(11.0, 150.0)).await;
    let e = refus_monde(b.monde.changer_zone(c, j, foret).await);
    assert!(matches!(e, ErreurMonde::PasDePortail { .. }), "{e:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn l_ecriture_differee_rattrape_redis(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let (j1, j2) = (
        b.personnage(c, "Emil").await,
        b.personnage(c, "Fanny").await,
    );
    b.pas(c, j1, position(110.0, 100.0)).await;
    b.pas(c, j2, position(100.0, 90.0)).await;
    assert_eq!(
        b.en_base(j1).await.map(|e| e.position),
        Some(position(100.0, 100.0)),
        "pas encore écrit"
    );

    let ecrites = b.monde.ecrire_positions_sales().await.expect("écriture");
    assert_eq!(ecrites, 2);
    for j in [j1, j2] {
        assert_eq!(
            b.en_base(j).await,
            b.monde.emplacement(j).await.expect("lu"),
            "la base égale Redis"
        );
    }
    assert_eq!(b.monde.ecrire_positions_sales().await.expect("rien"), 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn redis_perdu_les_positions_reviennent_de_postgresql(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Gaspard").await;
    b.pas(c, j, position(105.0, 100.0)).await;
    b.monde.ecrire_positions_sales().await.expect("écriture");
    b.pas(c, j, position(106.0, 100.0)).await; // not yet written: lost with Redis

    b.vider_redis().await;
    let relu = b.monde.emplacement(j).await.expect("lu").expect("en base");
    assert_eq!(relu.position, position(105.0, 100.0));
    // Redis was refilled: moves go on from there, on a full budget.
    b.pas(c, j, position(107.0, 100.0)).await;
    b.monde.ecrire_positions_sales().await.expect("écriture");
    assert_eq!(
        b.en_base(j).await.map(|e| e.position),
        Some(position(107.0, 100.0))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn quitter_ecrit_la_position_et_laisse_expirer_la_presence(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Hugo").await;
    b.monde.vue_zone(c, j).await.expect("vue");
    b.pas(c, j, position(102.0, 100.0)).await;
    // Another instance still holds a socket of the player and keeps it present.
    b.monde.signaler_presence(&[j]).await.expect("signe de vie");
    b.monde.quitter(&[j]).await.expect("départ");
    assert_eq!(
        b.en_base(j).await.map(|e| e.position),
        Some(position(102.0, 100.0))
    );
    let presents = b
        .monde
        .presents(&zone("plaine_verte"))
        .await
        .expect("présents");
    assert_eq!(
        presents.iter().map(|p| p.joueur_id).collect::<Vec<_>>(),
        vec![j],
        "la présence d'une autre instance reste"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn qui_est_proche_et_qui_est_dans_la_zone(pool: PgPool) {
    let b = Banc::new(pool).await;
    let (c1, c2) = (b.compte(1).await, b.compte(2).await);
    let (a, z) = (
        b.personnage(c1, "Ines").await,
        b.personnage(c2, "Jules").await,
    );
    let vue = b.monde.vue_zone(c1, a).await.expect("vue");
    assert_eq!(vue.presents.len(), 1, "seule");
    b.pas(c2, z, position(110.0, 100.0)).await;

    let proches = b.monde.proches(c1, a, 30.0).await.expect("proches");
    assert_eq!(proches.len(), 1);
    assert_eq!(proches[0].joueur_id, z);
    assert_eq!(proches[0].nom, "Jules");
    assert!((proches[0].distance - 10.0).abs() < 1e-9);
    assert!(
        b.monde
            .proches(c1, a, 5.0)
            .await
            .expect("proches")
            .is_empty()
    );

    let vue = b.monde.vue_zone(c2, z).await.expect("vue");
    assert_eq!(vue.presents.len(), 2);
    b.aller_en_foret(c2, z).await;
    let proches = b.monde.proches(c1, a, 200.0).await.expect("proches");
    assert!(
        proches.is_empty(),
        "parti dans une autre zone : {proches:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_pas_en_attente_n_ecrase_pas_un_changement_de_zone(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Karim").await;
    // The walk to the portal leaves dirty positions in the plain...
    let arrivee = b.aller_en_foret(c, j).await;
    // ...which the next write must not put back over the zone change.
    b.monde.ecrire_positions_sales().await.expect("écriture");
    assert_eq!(b.en_base(j).await, Some(arrivee));
}

#[sqlx::test(migrations = "../migrations")]
async fn l_ecriture_differee_ne_change_jamais_la_zone_en_base(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Karla").await;
    let arrivee = b.aller_en_foret(c, j).await;
    // What a move of the plain that slipped past the zone change would leave in Redis: an
    // older zone, a newer instant, marked dirty.
    let mut redis = b.redis.clone();
    let t = chrono::Utc::now().timestamp_millis() + 60_000;
    let _: () = redis::pipe()
        .hset_multiple(
            format!("{}monde:position:{j}", b.prefixe),
            &[
                ("zone", "plaine_verte".to_owned()),
                ("x", "190".to_owned()),
                ("y", "100".to_owned()),
                ("t", t.to_string()),
            ],
        )
        .sadd(format!("{}monde:sales", b.prefixe), j.to_string())
        .query_async(&mut redis)
        .await
        .expect("Redis");
    b.monde.ecrire_positions_sales().await.expect("écriture");
    assert_eq!(b.en_base(j).await, Some(arrivee), "la zone en base reste");
}

#[sqlx::test(migrations = "../migrations")]
async fn une_instance_morte_en_ecrivant_ne_perd_pas_la_marque(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Lena").await;
    b.pas(c, j, position(104.0, 100.0)).await;
    // What an instance that took the mark and died before writing leaves behind.
    let mut redis = b.redis.clone();
    let vieux = chrono::Utc::now().timestamp_millis()
        - commands::services::monde::DELAI_REPRISE.as_millis() as i64
        - 1_000;
    let pris: Vec<String> = redis::cmd("SPOP")
        .arg(format!("{}monde:sales", b.prefixe))
        .arg(10)
        .query_async(&mut redis)
        .await
        .expect("SPOP");
    assert_eq!(pris, vec![j.to_string()]);
    let _: () = redis::cmd("ZADD")
        .arg(format!("{}monde:sales:en_cours", b.prefixe))
        .arg(vieux)
        .arg(j.to_string())
        .query_async(&mut redis)
        .await
        .expect("ZADD");

    assert_eq!(b.monde.ecrire_positions_sales().await.expect("écriture"), 1);
    assert_eq!(
        b.en_base(j).await.map(|e| e.position),
        Some(position(104.0, 100.0)),
        "repris et écrit"
    );
    assert_eq!(b.monde.ecrire_positions_sales().await.expect("rien"), 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn deux_instances_ecrivent_ensemble_sans_perte_ni_retour_en_arriere(pool: PgPool) {
    let b = Banc::new(pool).await;
    let autre = b.autre_instance();
    let c = b.compte(1).await;
    let mut joueurs = Vec::new();
    for n in 0..5 {
        let j = b.personnage(c, &format!("Luc{n}")).await;
        b.pas(c, j, position(100.0 + f64::from(n), 101.0)).await;
        joueurs.push(j);
    }
    let (x, y) = tokio::join!(
        b.monde.ecrire_positions_sales(),
        autre.ecrire_positions_sales()
    );
    assert_eq!(
        x.expect("écriture") + y.expect("écriture"),
        5,
        "chacun une fois"
    );
    for j in joueurs {
        assert_eq!(b.en_base(j).await, autre.emplacement(j).await.expect("lu"));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn un_combat_ne_se_prepare_et_ne_se_rejoint_que_dans_sa_zone(pool: PgPool) {
    use chrono::Utc;
    use commands::services::combat;
    use domain::combat::ErreurCombat;
    use magasin::Metadonnees;
    use uuid::Uuid;

    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let plaine = b.personnage(c, "Aldo").await;
    let foret = b.personnage(c, "Berthe").await;
    b.aller_en_foret(c, foret).await;
    let meta = || Metadonnees::pour_compte(c, Uuid::new_v4(), Uuid::new_v4(), Utc::now());
    let refus_combat = |r: Result<_, ErreurApplication>| match r {
        Err(ErreurApplication::Regle(Refus::Combat(e))) => e,
        autre => panic!("refus du combat attendu : {autre:?}"),
    };

    // The wolves are in the plain: not from the forest.
    let loups = || "meute_de_loups".parse().expect("code");
    let e = refus_combat(
        combat::preparer(&b.depot, &b.monde, c, foret, loups(), &meta())
            .await
            .map(drop),
    );
    assert!(matches!(e, ErreurCombat::RencontreHorsZone { .. }), "{e:?}");

    // Prepared in the plain, the combat cannot be joined from the forest.
    let combat_id = combat::preparer(&b.depot, &b.monde, c, plaine, loups(), &meta())
        .await
        .expect("préparé dans la plaine");
    let e = refus_combat(
        combat::rejoindre(&b.depot, &b.monde, c, foret, combat_id, &meta())
            .await
            .map(drop),
    );
    assert_eq!(
        e,
        ErreurCombat::HorsDeLaZone {
            combat: zone("plaine_verte"),
            zone: zone("foret_sombre"),
        }
    );
    // Refused before it was engaged: it may still fight elsewhere.
    let araignees = "nid_d_araignees".parse().expect("code");
    combat::preparer(&b.depot, &b.monde, c, foret, araignees, &meta())
        .await
        .expect("un combat de la forêt");
}

#[sqlx::test(migrations = "../migrations")]
async fn on_ne_commerce_qu_avec_un_marchand_de_sa_zone(pool: PgPool) {
    use chrono::Utc;
    use commands::services::economie::{self, Negoce};
    use domain::inventaire::ErreurInventaire;
    use domain::valeurs::Quantite;
    use magasin::Metadonnees;
    use uuid::Uuid;

    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Colporteur").await;
    b.aller_en_foret(c, j).await;
    let meta = || Metadonnees::pour_compte(c, Uuid::new_v4(), Uuid::new_v4(), Utc::now());
    let negoce = |marchand: &str, item: &str| Negoce {
        marchand: marchand.parse().expect("code"),
        item: item.parse().expect("code"),
        quantite: Quantite::UN,
    };
    let refus = economie::acheter(
        &b.depot,
        &b.monde,
        c,
        j,
        negoce("apothicaire_mirabelle", "herbe_medicinale"),
        &meta(),
    )
    .await;
    assert!(
        matches!(
            &refus,
            Err(ErreurApplication::Regle(Refus::Inventaire(ErreurInventaire::MarchandAilleurs { zone: ici, .. })))
                if *ici == zone("foret_sombre")
        ),
        "{refus:?}"
    );
    economie::acheter(
        &b.depot,
        &b.monde,
        c,
        j,
        negoce("trappeur_gaspard", "pain"),
        &meta(),
    )
    .await
    .expect("le trappeur de la forêt vend du pain");
}

/// The catalog's rules of moving.
fn regle() -> domain::catalogue::RegleDeplacement {
    *domain::Catalogue::officiel()
        .expect("catalogue")
        .deplacement()
}

/// Steps of 1.9 m to the east as fast as the service answers: how far east of `depart` the
/// character got, and the first refusal.
async fn sprinter(
    banc: &Banc,
    compte: domain::ids::CompteId,
    joueur: domain::ids::JoueurId,
    depart: f64,
) -> (f64, ErreurApplication) {
    let mut ici = depart;
    loop {
        match banc
            .monde
            .deplacer(compte, joueur, position(ici + 1.9, 50.0))
            .await
        {
            Ok(e) => ici = e.emplacement.position.x(),
            Err(e) => return (ici - depart, e),
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn des_pas_trop_rapides_epuisent_le_credit_et_le_refus_dit_ou_l_on_est(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Sprinteur").await;
    // Given a character just placed (full budget),
    b.placer(j, position(20.0, 50.0)).await;
    // when it steps 1.9 m at a time as fast as it can,
    let debut = std::time::Instant::now();
    let (parcouru, refus) = sprinter(&b, c, j, 20.0).await;
    // then it covers about the ceiling, no more than the ceiling plus the time it took,
    let borne = regle().plafond() + regle().vitesse_max * debut.elapsed().as_secs_f64();
    assert!(parcouru <= borne, "{parcouru} m > {borne} m");
    assert!(parcouru >= regle().plafond() - 1.9, "{parcouru} m");
    // and the refusal says where it stands.
    let (e, ici) = pas_refuse::<()>(Err(refus));
    assert!(matches!(e, ErreurMonde::TropRapide { .. }), "{e:?}");
    assert_eq!(ici.position, position(20.0 + parcouru, 50.0));
    assert_eq!(b.monde.emplacement(j).await.expect("lu"), Some(ici));

    // Time refills it: half a second later, half a second of running passes.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let x = 20.0 + parcouru;
    b.pas(c, j, position(x + regle().vitesse_max * 0.45, 50.0))
        .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn le_credit_passe_le_portail_avec_le_personnage(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Passeur").await;
    b.au_niveau(c, j, 2).await;
    // Given a character that spent its budget running to the portal,
    b.placer(j, position(175.0, 100.0)).await;
    let mut x = 175.0;
    while x < 194.0 {
        match b.monde.deplacer(c, j, position(x + 1.9, 100.0)).await {
            Ok(e) => x = e.emplacement.position.x(),
            Err(_) => break,
        }
    }
    assert!(x > 190.0, "arrivé à {x}");
    // when it goes through, then it does not come out with a full budget.
    b.monde
        .changer_zone(c, j, zone("foret_sombre"))
        .await
        .expect("portail");
    let e = refus_monde(b.monde.deplacer(c, j, position(25.0, 150.0)).await);
    assert!(matches!(e, ErreurMonde::TropRapide { .. }), "{e:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn redis_perdu_le_credit_repart_plein(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Oublieux").await;
    b.placer(j, position(20.0, 50.0)).await;
    let _ = sprinter(&b, c, j, 20.0).await;
    b.monde.ecrire_positions_sales().await.expect("écriture");
    let ici = b.en_base(j).await.expect("en base").position;
    // Given Redis lost the budget with the position, when the character steps again, then
    // it has a full budget: a Redis loss is no player's doing, and it only happens rarely.
    b.vider_redis().await;
    b.pas(c, j, position(ici.x() + regle().plafond() - 0.5, 50.0))
        .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn placer_met_un_personnage_n_importe_ou_durablement(pool: PgPool) {
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Pion").await;
    let ailleurs = Emplacement {
        zone: zone("montagnes_grises"),
        position: position(150.0, 290.0),
    };
    let r = b.monde.placer(j, ailleurs.clone()).await.expect("placé");
    assert_eq!(r, ailleurs);
    assert_eq!(b.en_base(j).await, Some(ailleurs.clone()), "écrit en base");
    assert_eq!(b.monde.emplacement(j).await.expect("lu"), Some(ailleurs));
    assert_eq!(
        b.monde
            .presents(&zone("montagnes_grises"))
            .await
            .expect("présents")
            .len(),
        1
    );
    // Placed is not arrived through a portal: a zone change to there is no retry.
    let e = refus_monde(b.monde.changer_zone(c, j, zone("montagnes_grises")).await);
    assert!(matches!(e, ErreurMonde::PasDePortail { .. }), "{e:?}");

    let e = refus_monde(
        b.monde
            .placer(
                j,
                Emplacement {
                    zone: zone("plaine_verte"),
                    position: position(1000.5, 10.0),
                },
            )
            .await,
    );
    assert!(matches!(e, ErreurMonde::HorsZone { .. }), "{e:?}");
    let r = b
        .monde
        .placer(
            domain::ids::JoueurId::generer(),
            Emplacement {
                zone: zone("plaine_verte"),
                position: position(10.0, 10.0),
            },
        )
        .await;
    assert!(
        matches!(r, Err(ErreurApplication::Introuvable { .. })),
        "{r:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn les_pas_refuses_se_comptent_par_compte_dans_une_fenetre(pool: PgPool) {
    let b = Banc::new(pool).await;
    let (c1, c2) = (b.compte(1).await, b.compte(2).await);
    for n in 1..=3 {
        assert_eq!(b.monde.compter_refus(c1).await.expect("compte"), n);
    }
    assert_eq!(b.monde.compter_refus(c2).await.expect("compte"), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn l_index_des_cases_suit_les_personnages_et_ne_montre_pas_les_egares(pool: PgPool) {
    use commands::services::monde::ChangementCellule;
    use domain::interet::Cellule;

    let b = Banc::new(pool).await;
    let (c1, c2) = (b.compte(1).await, b.compte(2).await);
    let (a, z) = (
        b.personnage(c1, "Ines").await,
        b.personnage(c2, "Jules").await,
    );
    let plaine = zone("plaine_verte");
    let ici = |x: f64, y: f64| Emplacement {
        zone: plaine.clone(),
        position: position(x, y),
    };
    // Both at the start (100, 100): cell 2_2, seen by both.
    let vue = b.monde.vue_zone(c1, a).await.expect("vue");
    assert_eq!(
        vue.changement,
        ChangementCellule::Depuis(None),
        "première note"
    );
    let vue = b.monde.vue_zone(c2, z).await.expect("vue");
    assert_eq!(vue.presents.len(), 2);
    assert_eq!(vue.effectif, 2);
    let c22 = Cellule { cx: 2, cy: 2 };
    assert_eq!(
        b.monde
            .noter_cellule(z, &ici(100.0, 100.0))
            .await
            .expect("note"),
        ChangementCellule::Aucun,
        "même case"
    );

    // Jules is put far away (column 0) and noted there: he left 2_2.
    b.monde.placer(z, ici(10.0, 100.0)).await.expect("placé");
    assert_eq!(
        b.monde
            .noter_cellule(z, &ici(10.0, 100.0))
            .await
            .expect("note"),
        ChangementCellule::Depuis(Some((plaine.clone(), c22)))
    );
    assert_eq!(visibles(&b, &plaine, &c22.aire()).await, vec![a]);
    let vue = b.monde.vue_zone(c1, a).await.expect("vue");
    assert_eq!(vue.presents.len(), 1, "Jules est loin");
    assert_eq!(vue.effectif, 2, "mais dans la zone");

    // Ines is put elsewhere without being noted: her stale mark in 2_2 is not shown.
    b.monde.placer(a, ici(190.0, 10.0)).await.expect("placé");
    assert!(
        visibles(&b, &plaine, &[c22]).await.is_empty(),
        "une marque égarée n'est pas montrée"
    );
}

/// A step notes its interest cell in its own write: the first one notes where there was no
/// mark, one in the same cell changes nothing, one across a cell's edge says which it left,
/// and the index finds the character in its new cell.
#[sqlx::test(migrations = "../migrations")]
async fn un_pas_note_sa_case_dans_la_meme_ecriture(pool: PgPool) {
    use commands::services::monde::ChangementCellule;
    use domain::interet::Cellule;
    let b = Banc::new(pool).await;
    let c = b.compte(1).await;
    let j = b.personnage(c, "Ilda").await;
    let plaine = zone("plaine_verte");
    let pas = |x: f64| b.monde.deplacer(c, j, position(x, 100.0));
    assert_eq!(
        pas(101.0).await.expect("pas").changement,
        ChangementCellule::Depuis(None),
        "pas de marque avant"
    );
    assert_eq!(
        pas(100.5).await.expect("pas").changement,
        ChangementCellule::Aucun
    );
    let c22 = Cellule { cx: 2, cy: 2 };
    assert_eq!(
        pas(99.0).await.expect("pas").changement,
        ChangementCellule::Depuis(Some((plaine.clone(), c22))),
        "de 2_2 à 1_2"
    );
    assert_eq!(
        visibles(&b, &plaine, &[Cellule { cx: 1, cy: 2 }]).await,
        vec![j]
    );
    assert!(
        visibles(&b, &plaine, &[c22]).await.is_empty(),
        "plus dans 2_2"
    );
}

/// A step is decided from the position this instance keeps in memory and applied only if
/// Redis still holds it: a move another instance made meanwhile is never undone, the step is
/// decided again from where the character really stands, and a step that memory would
/// refuse but the real position allows is accepted.
#[sqlx::test(migrations = "../migrations")]
async fn un_pas_decide_de_memoire_suit_ce_que_redis_tient(pool: PgPool) {
    let b = Banc::new(pool).await;
    let autre = b.autre_instance();
    let c = b.compte(1).await;
    let j = b.personnage(c, "Ilda").await;
    let plaine = zone("plaine_verte");
    // Here: (101, 100), kept in memory.
    b.pas(c, j, position(101.0, 100.0)).await;
    // The other instance: on to (103, 100).
    autre
        .deplacer(c, j, position(103.0, 100.0))
        .await
        .expect("pas sur l'autre instance");
    // Here again, from a memory that says (101, 100): decided again from (103, 100).
    let pas = b
        .monde
        .deplacer(c, j, position(104.0, 100.0))
        .await
        .expect("pas décidé de nouveau");
    assert_eq!(pas.emplacement.position, position(104.0, 100.0));
    // The other instance puts the character 50 m away: from memory, (104, 100), a step to
    // (151, 100) is far too fast; from where it stands, it is one metre.
    autre
        .placer(
            j,
            Emplacement {
                zone: plaine.clone(),
                position: position(150.0, 100.0),
            },
        )
        .await
        .expect("placé");
    let pas = b
        .monde
        .deplacer(c, j, position(151.0, 100.0))
        .await
        .expect("un mètre depuis la vraie position");
    assert_eq!(pas.emplacement.position, position(151.0, 100.0));
    assert_eq!(
        autre.emplacement(j).await.expect("lu"),
        Some(Emplacement {
            zone: plaine.clone(),
            position: position(151.0, 100.0),
        })
    );
    // A step too far from the real position is still refused, with the real position.
    let (refus, ici) = pas_refuse(b.monde.deplacer(c, j, position(190.0, 100.0)).await);
    assert!(matches!(refus, ErreurMonde::TropRapide { .. }), "{refus:?}");
    assert_eq!(ici.position, position(151.0, 100.0));
}
