//! The read side's queries (`projections::requetes`) against the real PostgreSQL, on a game
//! played through the application services: what each returns, in which order, and how its
//! pages join. The gateway's end-to-end tests check the same answers through JSON-RPC; these
//! check the queries alone. Each test gets its own database.

mod commun;

use std::collections::BTreeMap;

use commands::services::quete;
use commun::{Hasard, compte, ids, jouer, meta, partie, rattraper};
use domain::ids::CombatId;
use domain::valeurs::{Classe, CodeQuete};
use projections::Projection;
use projections::requetes::{combats, economie, joueurs, quetes};
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrations = "../migrations")]
async fn les_personnages_d_un_compte_viennent_dans_l_ordre_de_creation_meme_avant_leur_projection(
    pool: PgPool,
) {
    let p = partie(&pool, "Liste", 5).await;
    let titulaire = p.joueurs[0].0;
    let attendus: Vec<Uuid> = p
        .joueurs
        .iter()
        .filter(|(c, _)| *c == titulaire)
        .map(|(_, j)| j.uuid())
        .collect();
    assert_eq!(attendus.len(), 3);

    // Not projected yet: the names are there, the profiles not.
    let avant = joueurs::personnages_du_compte(&pool, titulaire)
        .await
        .expect("personnages");
    assert_eq!(
        avant.iter().map(|l| l.joueur_id).collect::<Vec<_>>(),
        attendus
    );
    assert!(
        avant
            .iter()
            .all(|l| l.classe.is_none() && l.niveau.is_none())
    );

    rattraper(&pool, Projection::Joueurs).await;
    let apres = joueurs::personnages_du_compte(&pool, titulaire)
        .await
        .expect("personnages");
    assert_eq!(
        apres.iter().map(|l| l.joueur_id).collect::<Vec<_>>(),
        attendus
    );
    let profils = joueurs::profils(&pool, &attendus).await.expect("profils");
    for l in &apres {
        let profil = profils
            .iter()
            .find(|pr| pr.joueur_id == l.joueur_id)
            .expect("profil");
        assert_eq!(l.nom, profil.nom);
        assert_eq!(l.classe.as_deref(), Some(profil.classe.as_str()));
        assert_eq!(l.niveau, Some(profil.niveau));
        assert_eq!(l.xp, Some(profil.xp));
    }

    let sans_personnage = compte(&pool, 9).await;
    assert!(
        joueurs::personnages_du_compte(&pool, sans_personnage)
            .await
            .expect("personnages")
            .is_empty()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn le_classement_range_par_niveau_xp_et_nom_et_ses_pages_se_suivent_sans_trou(pool: PgPool) {
    let p = partie(&pool, "Rang", 9).await;
    jouer(&p, &mut Hasard::new(0x5eed_0a01), 80).await;
    rattraper(&pool, Projection::Joueurs).await;
    let tous = ids(&pool, "joueurs", "joueur_id").await;
    let mut profils = joueurs::profils(&pool, &tous).await.expect("profils");
    profils.sort_by(|a, b| {
        (b.niveau, b.xp)
            .cmp(&(a.niveau, a.xp))
            .then_with(|| a.nom.cmp(&b.nom))
            .then_with(|| a.joueur_id.cmp(&b.joueur_id))
    });

    for classe in [None, Some(Classe::Tank), Some(Classe::Heal)] {
        let attendus: Vec<Uuid> = profils
            .iter()
            .filter(|pr| classe.is_none_or(|c| pr.classe == c.nom()))
            .map(|pr| pr.joueur_id)
            .collect();
        let mut lus = Vec::new();
        let mut depuis = 0;
        loop {
            let page = joueurs::classement(&pool, classe, 2, depuis)
                .await
                .expect("classement");
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 2);
            for l in &page {
                depuis += 1;
                assert_eq!(l.rang, i64::from(depuis), "rangs consécutifs");
                lus.push(l.joueur_id);
            }
        }
        assert_eq!(lus, attendus, "classe {classe:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn le_grand_livre_se_lit_par_evenements_entiers_et_les_totaux_en_font_la_somme(pool: PgPool) {
    let p = partie(&pool, "Livre", 6).await;
    jouer(&p, &mut Hasard::new(0x5eed_0a02), 120).await;
    rattraper(&pool, Projection::Economie).await;

    let mut par_ressource: BTreeMap<String, i64> = BTreeMap::new();
    for (_, j) in &p.joueurs {
        let entier = economie::grand_livre(&pool, *j, 0, 500)
            .await
            .expect("grand livre");
        assert!(!entier.is_empty(), "le kit de départ au moins");
        let mut pages = Vec::new();
        let mut apres = 0;
        loop {
            let page = economie::grand_livre(&pool, *j, apres, 3)
                .await
                .expect("page");
            let Some(derniere) = page.last() else { break };
            let mut sequences: Vec<i64> = page.iter().map(|m| m.sequence).collect();
            sequences.dedup();
            assert!(sequences.len() <= 3, "au plus trois événements par page");
            assert!(sequences[0] > apres);
            apres = derniere.sequence;
            pages.extend(page);
        }
        assert_eq!(
            pages, entier,
            "les pages recousues font le grand livre entier"
        );
        // Oldest first, and each resource's balance follows its movements.
        let mut soldes: BTreeMap<&str, i64> = BTreeMap::new();
        for m in &entier {
            let solde = soldes.entry(&m.ressource).or_default();
            *solde += m.delta;
            assert_eq!(
                *solde, m.solde_apres,
                "solde de {} après {}",
                m.ressource, m.sequence
            );
            *par_ressource.entry(m.ressource.clone()).or_default() += m.delta;
        }
    }

    let mut selon_totaux: BTreeMap<String, i64> = BTreeMap::new();
    let totaux = economie::totaux(&pool).await.expect("totaux");
    let cles: Vec<(&str, &str)> = totaux
        .iter()
        .map(|t| (t.ressource.as_str(), t.cause.as_str()))
        .collect();
    assert!(cles.is_sorted(), "par ressource puis cause");
    for t in &totaux {
        *selon_totaux.entry(t.ressource.clone()).or_default() += t.cree - t.detruit;
    }
    selon_totaux.retain(|_, n| *n != 0);
    par_ressource.retain(|_, n| *n != 0);
    assert_eq!(selon_totaux, par_ressource);
}

#[sqlx::test(migrations = "../migrations")]
async fn l_historique_d_un_combat_est_dans_l_ordre_sans_etiquette_et_reserve_a_ses_participants(
    pool: PgPool,
) {
    let p = partie(&pool, "Piste", 4).await;
    jouer(&p, &mut Hasard::new(0x5eed_0a03), 60).await;
    rattraper(&pool, Projection::Combats).await;
    let ids_combats = ids(&pool, "combats", "combat_id").await;
    assert!(!ids_combats.is_empty(), "la charge a livré des combats");
    let vues = combats::vues(&pool, &ids_combats).await.expect("vues");
    let etranger = compte(&pool, 7).await;

    for vue in &vues {
        let combat = CombatId::from_uuid(vue.combat_id);
        let entrees = combats::historique(&pool, combat)
            .await
            .expect("historique");
        assert_eq!(entrees[0].event_type, "CombatPrepare");
        assert!(entrees.windows(2).all(|w| w[0].sequence < w[1].sequence));
        for e in &entrees {
            let etiquete = e
                .donnees
                .as_object()
                .is_some_and(|m| m.len() == 1 && m.contains_key(&e.event_type));
            assert!(!etiquete, "{} garde son étiquette", e.event_type);
        }

        for (compte_du_joueur, joueur) in &p.joueurs {
            if vue.participants.contains(&joueur.uuid()) {
                let participe = combats::compte_participe(&pool, combat, *compte_du_joueur)
                    .await
                    .expect("accès");
                assert_eq!(participe, Some(true));
            }
        }
        let participe = combats::compte_participe(&pool, combat, etranger)
            .await
            .expect("accès");
        assert_eq!(participe, Some(false));
    }

    let inconnu = CombatId::generer();
    let participe = combats::compte_participe(&pool, inconnu, etranger)
        .await
        .expect("accès");
    assert_eq!(participe, None);
    assert!(
        combats::historique(&pool, inconnu)
            .await
            .expect("historique")
            .is_empty()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn le_journal_de_quetes_suit_chaque_quete_par_code(pool: PgPool) {
    let p = partie(&pool, "Journal", 1).await;
    let (c, j) = p.joueurs[0];
    let code = |s: &str| s.parse::<CodeQuete>().expect("code");
    for q in ["rempart", "chasse_aux_loups"] {
        quete::accepter(&p.depot, c, j, code(q), &meta(c))
            .await
            .expect("acceptation");
    }
    quete::abandonner(&p.depot, c, j, code("rempart"), &meta(c))
        .await
        .expect("abandon");
    rattraper(&pool, Projection::Quetes).await;

    let journal = quetes::journal(&pool, j).await.expect("journal");
    let lu: Vec<(&str, &str, i32, i32)> = journal
        .iter()
        .map(|e| (e.quete.as_str(), e.statut.as_str(), e.progression, e.requis))
        .collect();
    assert_eq!(
        lu,
        vec![
            ("chasse_aux_loups", "en_cours", 0, 4),
            ("rempart", "abandonnee", 0, 1),
        ]
    );
}
