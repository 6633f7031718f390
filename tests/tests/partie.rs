//! A game played through the gateway as a client would: accounts, characters of each class, a
//! combat fought over WebSocket from the pushed events to its victory, then every read the
//! client offers (profile, leaderboard, inventory, combat history, ledger), with the victory
//! paid through the bus.

use domain::combat::Phase;
use domain::simulation::action_scriptee;
use mmo_tests::scenario::{VueCombat, nombre};
use mmo_tests::{Banc, ClientWs, code};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn un_trio_joue_un_combat_de_bout_en_bout(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("trio").await;
    let mut ws: ClientWs = banc.ws(Some(&compte.jeton)).await;

    let mut joueurs = Vec::new();
    for (nom, classe) in [("Brennos", "Tank"), ("Sylvaine", "DPS"), ("Ondine", "Heal")] {
        let r = ws
            .appel("joueur.creer", json!({ "nom": nom, "classe": classe }))
            .await
            .expect("personnage créé");
        joueurs.push(r["joueur_id"].as_str().expect("joueur_id").to_owned());
    }
    let liste = ws.appel("joueur.lister", json!({})).await.expect("liste");
    assert_eq!(liste["personnages"].as_array().map(Vec::len), Some(3));

    // The Tank prepares, the others join, the Tank launches.
    let r = ws
        .appel(
            "combat.demarrer",
            json!({ "joueur_id": joueurs[0], "rencontre": "meute_de_loups" }),
        )
        .await
        .expect("combat préparé");
    let combat_id = r["combat_id"].as_str().expect("combat_id").to_owned();
    let mut attendus = 1; // CombatPrepare
    for j in &joueurs[1..] {
        let r = ws
            .appel(
                "combat.rejoindre",
                json!({ "joueur_id": j, "combat_id": combat_id }),
            )
            .await
            .expect("rejoint");
        attendus += nombre(&r);
    }
    let r = ws
        .appel(
            "combat.lancer",
            json!({ "joueur_id": joueurs[0], "combat_id": combat_id }),
        )
        .await
        .expect("lancé");
    attendus += nombre(&r);

    // Each round, every standing character acts as the scripted policy says, from the state
    // folded out of the pushes: the pushes are complete and in order, or this never ends.
    let mut vue = VueCombat::new(&combat_id);
    let issue = loop {
        ws.attendre_evenements("les événements du combat", |n| {
            vue.absorber(n);
            vue.appliques >= attendus
        })
        .await;
        let etat = vue.combat.etat().expect("combat préparé").clone();
        match etat.phase {
            Phase::Termine { issue, .. } => break issue,
            Phase::EnCours { .. } => {}
            autre => panic!("phase inattendue : {autre:?}"),
        }
        let Some(i) = etat.participants.iter().position(|p| !p.ko() && !p.a_agi) else {
            panic!("personne ne peut agir : {etat:?}");
        };
        let action = action_scriptee(&etat, i);
        let joueur = etat.participants[i].combattant.joueur_id;
        let r = ws
            .appel(
                "combat.agir",
                json!({ "joueur_id": joueur, "combat_id": combat_id, "action": action }),
            )
            .await
            .expect("action acceptée");
        attendus += nombre(&r);
    };
    assert_eq!(issue, domain::combat::Issue::Victoire);

    // The reads. Projections follow the store a few milliseconds behind: each read waits
    // (bounded) until it shows what the combat did.
    let jeton = compte.jeton.as_str();
    let historique = banc
        .lire_quand(
            jeton,
            "combat.historique",
            json!({ "combat_id": combat_id }),
            |h| h["evenements"].as_array().map(|v| v.len() as u64) == Some(attendus),
        )
        .await;
    let evenements = historique["evenements"].as_array().expect("liste");
    for (i, e) in evenements.iter().enumerate() {
        assert_eq!(
            e["sequence"].as_u64(),
            Some(i as u64 + 1),
            "dans l'ordre : {e}"
        );
        assert_eq!(e["compte_id"], json!(compte.compte_id), "qui : {e}");
        assert!(e["correlation_id"].is_string() && e["horodatage"].is_string());
    }
    assert_eq!(evenements[0]["type"], "CombatPrepare");
    assert_eq!(evenements.last().expect("fin")["type"], "CombatTermine");

    let etat = banc
        .lire_quand(
            jeton,
            "combat.etat",
            json!({ "combat_id": combat_id }),
            |e| e["phase"] != "en_cours",
        )
        .await;
    assert_eq!(etat["phase"], "victoire");

    let profil = banc
        .lire_quand(
            jeton,
            "joueur.profil",
            json!({ "joueur_id": joueurs[0] }),
            |p| p["combat_id"].is_null(),
        )
        .await;
    assert_eq!(
        (&profil["nom"], &profil["classe"]),
        (&json!("Brennos"), &json!("Tank"))
    );

    let classement = banc
        .lire_quand(
            jeton,
            "classement.consulter",
            json!({ "limite": 10 }),
            |c| c["classement"].as_array().map(Vec::len) == Some(3),
        )
        .await;
    assert_eq!(classement["classement"][0]["rang"], 1);
    let seulement_dps = ws
        .appel("classement.consulter", json!({ "classe": "DPS" }))
        .await
        .expect("classement des DPS");
    assert_eq!(seulement_dps["classement"][0]["nom"], "Sylvaine");

    // The victory is paid by the process managers through the bus: XP on the profile, the
    // loot's gold (every wolf drops some) in the inventory and in the ledger beside the kit.
    let profil = banc
        .lire_quand(
            jeton,
            "joueur.profil",
            json!({ "joueur_id": joueurs[1] }),
            |p| p["xp"].as_u64().is_some_and(|xp| xp > 0),
        )
        .await;
    assert_eq!(profil["nom"], "Sylvaine");
    let inventaire = banc
        .lire_quand(
            jeton,
            "inventaire.consulter",
            json!({ "joueur_id": joueurs[1] }),
            |i| i["or_total"].as_u64().is_some_and(|or| or > 30),
        )
        .await;
    let livre = banc
        .lire_quand(
            jeton,
            "economie.grand_livre",
            json!({ "joueur_id": joueurs[1] }),
            |l| {
                l["mouvements"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["cause"] == "butin"))
            },
        )
        .await;
    let mouvements = livre["mouvements"].as_array().expect("mouvements");
    assert!(
        mouvements
            .iter()
            .any(|m| m["cause"] == "kit_de_depart" && m["ressource"] == "or" && m["delta"] == 30),
        "{livre}"
    );
    let or_du_butin: i64 = mouvements
        .iter()
        .filter(|m| m["cause"] == "butin" && m["ressource"] == "or")
        .filter_map(|m| m["delta"].as_i64())
        .sum();
    assert_eq!(
        inventaire["or_total"].as_i64(),
        Some(30 + or_du_butin),
        "l'inventaire et le grand livre disent le même or : {inventaire}"
    );

    // A character acting in a finished combat is refused by the game's rules.
    let refus = ws
        .appel(
            "combat.agir",
            json!({ "joueur_id": joueurs[1], "combat_id": combat_id, "action": { "type": "defendre" } }),
        )
        .await
        .expect_err("combat terminé");
    assert_eq!(refus["code"], -32010);
    assert_eq!(code(&refus), "COMBAT_TERMINE");

    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn une_commande_rejouee_avec_son_id_ne_s_applique_qu_une_fois(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("prudent").await;
    let creer = json!({
        "nom": "Doublon", "classe": "DPS", "id_commande": "5f0c3d4e-0000-4000-8000-000000000001"
    });
    let a = banc
        .appel(&compte.jeton, "joueur.creer", creer.clone())
        .await
        .expect("créé");
    let b = banc
        .appel(&compte.jeton, "joueur.creer", creer)
        .await
        .expect("rejoué");
    assert_eq!(a, b, "la même commande donne le même personnage");
    let liste = banc
        .appel(&compte.jeton, "joueur.lister", json!({}))
        .await
        .expect("liste");
    assert_eq!(liste["personnages"].as_array().map(Vec::len), Some(1));

    let joueur = a["joueur_id"].clone();
    let achat = json!({
        "joueur_id": joueur, "marchand": "apothicaire_mirabelle", "item": "potion_de_soin",
        "quantite": 1, "id_commande": "5f0c3d4e-0000-4000-8000-000000000002"
    });
    let premier = banc
        .appel(&compte.jeton, "inventaire.acheter", achat.clone())
        .await;
    let second = banc.appel(&compte.jeton, "inventaire.acheter", achat).await;
    assert_eq!(
        premier, second,
        "la réponse rejouée est celle de la première fois"
    );
    let solde = premier.expect("achat")["evenements"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "OrDebite"))
        .map(|e| e["donnees"]["solde"].clone())
        .expect("or débité");
    let inventaire = banc
        .lire_quand(
            &compte.jeton,
            "inventaire.consulter",
            json!({ "joueur_id": joueur }),
            |i| i["or_total"] != 30,
        )
        .await;
    assert_eq!(inventaire["or_total"], solde, "débité une seule fois");
    banc.arreter().await;
}
