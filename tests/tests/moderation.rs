//! Moderation end to end (doc/exploitation.md, « Modérer »), on real PostgreSQL, Redis and
//! NATS: a ban pronounced through one gateway instance closes the player's sockets on both and
//! refuses its calls (HTTP, WebSocket, login, refresh) until it is lifted; a game master's
//! grant and removal land in the inventory and the ledger under their own cause and the
//! economy still balances; a report waits in the queue until a game master closes it. Every
//! action needs a reason and is an event whose author is the game master.

use std::time::Duration;

use mmo_tests::{Banc, ClientWs, Compte, Fermeture, ORIGINE, code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// A game master: a real account, promoted (the author the events must name).
async fn chef(banc: &Banc) -> (Compte, String) {
    let chef = banc.administrateur("chef").await;
    let jeton = chef.jeton.clone();
    (chef, jeton)
}

fn refus(r: Result<Value, Value>) -> (i64, String) {
    let e = r.expect_err("un refus");
    (e["code"].as_i64().unwrap_or(0), code(&e).to_owned())
}

/// The moderation events of an account: (type, author).
async fn dossier(pool: &PgPool, compte: Uuid) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT event_type, metadata->>'compte_id' FROM events \
         WHERE aggregate_type = 'Moderation' AND aggregate_id = $1 ORDER BY sequence",
    )
    .bind(compte.to_string())
    .fetch_all(pool)
    .await
    .expect("dossier")
}

#[sqlx::test(migrations = "../migrations")]
async fn un_bannissement_coupe_le_compte_sur_chaque_instance_et_un_retablissement_le_rend(
    pool: PgPool,
) {
    let a = Banc::demarrer(&pool).await;
    let b = a.jumeau(&pool).await;
    let (chef, admin) = chef(&a).await;
    let mauvais = a.compte("mauvais").await;
    let joueur = a.personnage(&mauvais.jeton, "Tricheur", "DPS").await;
    let mut ws_a = a.ws(Some(&mauvais.jeton)).await;
    let mut ws_b = b.ws(Some(&mauvais.jeton)).await;
    for ws in [&mut ws_a, &mut ws_b] {
        ws.appel("joueur.lister", json!({})).await.expect("abonnée");
    }

    // Only a game master bans, and never without a reason.
    let interdit = (-32003, "INTERDIT".to_owned());
    let p = json!({"joueur_id": joueur, "raison": "triche"});
    assert_eq!(
        refus(a.appel(&mauvais.jeton, "mj.bannir", p).await),
        interdit
    );
    for p in [
        json!({"joueur_id": joueur}),
        json!({"joueur_id": joueur, "raison": "   "}),
        json!({"joueur_id": joueur, "raison": "x".repeat(501)}),
        json!({"joueur_id": joueur, "compte_id": mauvais.compte_id, "raison": "triche"}),
        json!({"joueur_id": joueur, "raison": "triche", "duree_s": 0}),
    ] {
        assert_eq!(
            refus(a.appel(&admin, "mj.bannir", p.clone()).await),
            (-32602, "PARAMETRES_INVALIDES".to_owned()),
            "{p}"
        );
    }
    let p = json!({"compte_id": Uuid::new_v4(), "raison": "triche"});
    assert_eq!(
        refus(a.appel(&admin, "mj.bannir", p).await).1,
        "INTROUVABLE"
    );

    // Through instance A: both sockets close, on A and on B.
    let ban = a
        .appel(
            &admin,
            "mj.bannir",
            json!({"joueur_id": joueur, "raison": "triche avérée"}),
        )
        .await
        .expect("banni");
    assert_eq!(ban["compte_id"], json!(mauvais.compte_id));
    assert_eq!(ban["jusqu_a"], Value::Null);
    for ws in [&mut ws_a, &mut ws_b] {
        assert_eq!(
            ws.attendre_fermeture(Duration::from_secs(5)).await,
            Fermeture::Code(4403)
        );
    }
    // Its next call is refused on both, HTTP and WebSocket; no new token is issued.
    for banc in [&a, &b] {
        let r = refus(banc.appel(&mauvais.jeton, "joueur.lister", json!({})).await);
        assert_eq!(r, (-32003, "COMPTE_BANNI".to_owned()));
        let url = format!("ws://{}/ws", banc.serveur.adresse);
        let ouverture =
            ClientWs::connecter(&format!("{url}?jeton={}", mauvais.jeton), Some(ORIGINE))
                .await
                .err()
                .expect("ouverture refusée");
        assert_eq!(ouverture.0, 403);
        assert!(ouverture.1.contains("COMPTE_BANNI"), "{}", ouverture.1);
        let mut ws = banc.ws(None).await;
        let r = ws
            .appel("session.authentifier", json!({"jeton": mauvais.jeton}))
            .await;
        assert_eq!(refus(r).1, "COMPTE_BANNI");
    }
    let rafraichir = json!({"jeton_rafraichissement": mauvais.rafraichissement});
    assert_eq!(
        b.post_refuse("/api/sessions/rafraichir", &rafraichir).await,
        (StatusCode::FORBIDDEN, "COMPTE_BANNI".to_owned())
    );
    let identifiants = json!({"login": mauvais.login, "mot_de_passe": mauvais.mot_de_passe});
    assert_eq!(
        a.post_refuse("/api/sessions", &identifiants).await,
        (StatusCode::FORBIDDEN, "COMPTE_BANNI".to_owned())
    );

    // Lifted through instance B: A hears of it over NATS, and the same refresh token works.
    let p = json!({"compte_id": mauvais.compte_id, "raison": "appel accepté"});
    let r = b
        .appel(&admin, "mj.retablir", p.clone())
        .await
        .expect("rétabli");
    assert_eq!(r["compte_id"], json!(mauvais.compte_id));
    b.appel(&mauvais.jeton, "joueur.lister", json!({}))
        .await
        .expect("de retour sur B");
    a.attendre("le rétablissement annoncé à A", || async {
        a.appel(&mauvais.jeton, "joueur.lister", json!({}))
            .await
            .ok()
    })
    .await;
    let (statut, session) = a.post("/api/sessions/rafraichir", &rafraichir).await;
    assert_eq!(statut, StatusCode::OK, "{session}");
    let mut ws = a.ws(Some(&mauvais.jeton)).await;
    ws.appel("joueur.lister", json!({}))
        .await
        .expect("socket rouverte");
    assert_eq!(
        refus(b.appel(&admin, "mj.retablir", p).await),
        (-32010, "PAS_BANNI".to_owned())
    );

    // A kick closes the sockets (4410) and bans nothing.
    let r = b
        .appel(
            &admin,
            "mj.expulser",
            json!({"compte_id": mauvais.compte_id, "raison": "boucle de reconnexion"}),
        )
        .await
        .expect("expulsé");
    assert_eq!(r["compte_id"], json!(mauvais.compte_id));
    assert_eq!(
        ws.attendre_fermeture(Duration::from_secs(5)).await,
        Fermeture::Code(4410)
    );
    a.appel(&mauvais.jeton, "joueur.lister", json!({}))
        .await
        .expect("une expulsion ne bannit pas");

    // A ban with an end lapses on its own.
    let r = a
        .appel(
            &admin,
            "mj.bannir",
            json!({"joueur_id": joueur, "raison": "courte pause", "duree_s": 1}),
        )
        .await
        .expect("banni une seconde");
    assert!(r["jusqu_a"].is_string(), "{r}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.appel(&mauvais.jeton, "joueur.lister", json!({}))
        .await
        .expect("bannissement échu");

    // Every action is in the account's record, the game master as its author.
    let auteur = chef.compte_id.to_string();
    assert_eq!(
        dossier(&a.serveur.passerelle.pool, mauvais.compte_id).await,
        [
            "CompteBanni",
            "CompteRetabli",
            "CompteExpulse",
            "CompteBanni"
        ]
        .map(|t| (t.to_owned(), auteur.clone()))
        .to_vec()
    );
    // The console's view of it: login, the ban in force (none), every action with its reason.
    let vu = b
        .appel(&admin, "mj.dossier", json!({"joueur_id": joueur}))
        .await
        .expect("dossier");
    assert_eq!(vu["login"], "mauvais");
    let entrees = vu["entrees"].as_array().expect("entrées");
    assert_eq!(entrees.len(), 4);
    assert_eq!(entrees[0]["donnees"]["raison"], "triche avérée");
    assert_eq!(entrees[1]["type"], "CompteRetabli");
    assert!(entrees.iter().all(|e| e["par"] == json!(chef.compte_id)));
    b.arreter().await;
    a.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_mj_donne_et_retire_et_l_economie_reste_equilibree(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let (chef, admin) = chef(&banc).await;
    let alice = banc.compte("alice").await;
    let joueur = banc.personnage(&alice.jeton, "Alicia", "Tank").await;
    let depart = banc
        .lire_quand(
            &alice.jeton,
            "inventaire.consulter",
            json!({"joueur_id": joueur}),
            |i| i["items"]["pain"].as_u64().is_some(),
        )
        .await;
    let or_depart = depart["or_total"].as_i64().expect("or");

    let don = json!({"joueur_id": joueur, "or": 100, "items": [{"item": "pain", "quantite": 3}], "raison": "compensation d'une panne"});
    assert_eq!(
        refus(banc.appel(&alice.jeton, "mj.donner", don.clone()).await),
        (-32003, "INTERDIT".to_owned())
    );
    for p in [
        json!({"joueur_id": joueur, "or": 100}),
        json!({"joueur_id": joueur, "or": 100, "raison": ""}),
        json!({"joueur_id": joueur, "raison": "rien"}),
    ] {
        assert_eq!(
            refus(banc.appel(&admin, "mj.donner", p).await).1,
            "PARAMETRES_INVALIDES"
        );
    }
    let inconnu = json!({"joueur_id": joueur, "items": [{"item": "licorne", "quantite": 1}], "raison": "cadeau"});
    assert_eq!(
        refus(banc.appel(&admin, "mj.donner", inconnu).await),
        (-32010, "ITEM_INCONNU".to_owned())
    );
    let r = banc.appel(&admin, "mj.donner", don).await.expect("don");
    let types: Vec<&str> = r["evenements"]
        .as_array()
        .expect("événements")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(types, ["OrCredite", "ItemAjoute"]);
    let trop = json!({"joueur_id": joueur, "or": 1_000_000, "raison": "reprise"});
    assert_eq!(
        refus(banc.appel(&admin, "mj.retirer", trop).await),
        (-32010, "OR_INSUFFISANT".to_owned())
    );
    let retrait = json!({"joueur_id": joueur, "or": 40, "raison": "reprise d'un gain indû"});
    let r = banc
        .appel(&admin, "mj.retirer", retrait)
        .await
        .expect("retrait");
    let curseur = r["curseur"].clone();

    let inventaire = banc
        .appel(
            &alice.jeton,
            "inventaire.consulter",
            json!({"joueur_id": joueur, "a_jour_de": curseur}),
        )
        .await
        .expect("inventaire");
    assert_eq!(inventaire["or_total"], json!(or_depart + 60));
    let livre = banc
        .appel(
            &alice.jeton,
            "economie.grand_livre",
            json!({"joueur_id": joueur, "a_jour_de": curseur}),
        )
        .await
        .expect("grand livre");
    let mj: Vec<(i64, &str)> = livre["mouvements"]
        .as_array()
        .expect("mouvements")
        .iter()
        .filter(|m| m["cause"] == "mj")
        .map(|m| {
            (
                m["delta"].as_i64().unwrap_or(0),
                m["detail"]["raison"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        mj,
        [
            (100, "compensation d'une panne"),
            (3, "compensation d'une panne"),
            (-40, "reprise d'un gain indû")
        ]
    );
    // The author of the movements is the game master.
    let auteurs: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT metadata->>'compte_id' FROM events \
         WHERE aggregate_type = 'Inventaire' \
           AND jsonb_path_exists(payload::jsonb, '$.*.cause ? (@.type == \"mj\")')",
    )
    .fetch_all(&banc.serveur.passerelle.pool)
    .await
    .expect("auteurs");
    assert_eq!(auteurs, [(chef.compte_id.to_string(),)]);

    // Conservation, the `mj` cause counted as a source and a sink of its own.
    // The server's pool: its connections are open already, whatever else the machine runs.
    let base = banc.serveur.passerelle.pool.clone();
    banc.projections_a_jour(&base).await;
    assert_eq!(
        projections::verification::desequilibres(&base)
            .await
            .expect("bilan"),
        []
    );
    let totaux = banc
        .appel(&admin, "economie.totaux", json!({}))
        .await
        .expect("totaux");
    let or_mj = totaux["totaux"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["ressource"] == "or" && t["cause"] == "mj")
        })
        .cloned()
        .expect("or, mj");
    assert_eq!(
        (or_mj["cree"].clone(), or_mj["detruit"].clone()),
        (json!(100), json!(40))
    );
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_signalement_attend_dans_la_file_puis_est_traite(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let (chef, admin) = chef(&banc).await;
    let alice = banc.compte("alice").await;
    let bruno = banc.compte("bruno").await;
    let ja = banc.personnage(&alice.jeton, "Alicia", "Tank").await;
    let ja2 = banc.personnage(&alice.jeton, "Aliette", "Heal").await;
    let jb = banc.personnage(&bruno.jeton, "Brunor", "DPS").await;

    let signaler = |p: Value| banc.appel(&alice.jeton, "signalement.creer", p);
    let premier =
        signaler(json!({"joueur_id": ja, "cible_nom": "brunor", "raison": "insultes en zone"}))
            .await
            .expect("signalé par nom");
    assert!(premier["signalement_id"].is_string(), "{premier}");
    signaler(json!({"joueur_id": ja2, "cible_id": jb, "raison": "triche"}))
        .await
        .expect("signalé par id");
    for (p, attendu) in [
        (
            json!({"joueur_id": ja, "cible_id": ja2, "raison": "moi"}),
            (-32010, "SIGNALEMENT_DE_SOI"),
        ),
        (
            json!({"joueur_id": ja, "cible_id": jb, "raison": " "}),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            json!({"joueur_id": ja, "cible_id": jb}),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            json!({"joueur_id": ja, "cible_id": jb, "cible_nom": "Brunor", "raison": "x"}),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            json!({"joueur_id": jb, "cible_id": ja, "raison": "usurpation"}),
            (-32003, "INTERDIT"),
        ),
        (
            json!({"joueur_id": ja, "cible_nom": "Personne", "raison": "x"}),
            (-32004, "INTROUVABLE"),
        ),
    ] {
        let r = refus(signaler(p.clone()).await);
        assert_eq!((r.0, r.1.as_str()), attendu, "{p}");
    }
    assert_eq!(
        refus(banc.appel(&alice.jeton, "mj.signalements", json!({})).await).1,
        "INTERDIT"
    );

    // The queue, oldest first, a page at a time, with ids and names.
    let page = banc
        .appel(&admin, "mj.signalements", json!({"limite": 1}))
        .await
        .expect("file");
    let s = &page["signalements"][0];
    assert_eq!(s["signalement_id"], premier["signalement_id"]);
    assert_eq!(
        (s["auteur_nom"].as_str(), s["cible_nom"].as_str()),
        (Some("Alicia"), Some("Brunor"))
    );
    assert_eq!(s["cible_compte_id"], json!(bruno.compte_id));
    assert_eq!(s["raison"], "insultes en zone");
    let suite = banc
        .appel(
            &admin,
            "mj.signalements",
            json!({"apres": page["suivant"], "limite": 1}),
        )
        .await
        .expect("page suivante");
    assert_eq!(suite["signalements"][0]["raison"], "triche");

    // Closed with a note: out of the queue, in the closed ones; not twice.
    let traite =
        json!({"signalement_id": premier["signalement_id"], "note": "avertissement envoyé"});
    assert_eq!(
        refus(
            banc.appel(
                &admin,
                "mj.traiter_signalement",
                json!({"signalement_id": premier["signalement_id"]})
            )
            .await
        )
        .1,
        "PARAMETRES_INVALIDES"
    );
    let r = banc
        .appel(&admin, "mj.traiter_signalement", traite.clone())
        .await
        .expect("traité");
    assert_eq!(r["traite_par"], json!(chef.compte_id));
    assert_eq!(r["note"], "avertissement envoyé");
    assert_eq!(
        refus(banc.appel(&admin, "mj.traiter_signalement", traite).await),
        (-32010, "SIGNALEMENT_DEJA_TRAITE".to_owned())
    );
    let inconnu = json!({"signalement_id": Uuid::new_v4(), "note": "?"});
    assert_eq!(
        refus(banc.appel(&admin, "mj.traiter_signalement", inconnu).await).1,
        "INTROUVABLE"
    );
    let ouverts = banc
        .appel(&admin, "mj.signalements", json!({}))
        .await
        .expect("file");
    assert_eq!(ouverts["signalements"].as_array().map(Vec::len), Some(1));
    assert_eq!(ouverts["suivant"], Value::Null);
    let traites = banc
        .appel(&admin, "mj.signalements", json!({"etat": "traites"}))
        .await
        .expect("traités");
    assert_eq!(
        traites["signalements"][0]["signalement_id"],
        premier["signalement_id"]
    );

    // Bounded: past ten an hour, the reporter waits.
    for n in 2..10 {
        signaler(json!({"joueur_id": ja, "cible_id": jb, "raison": format!("encore {n}")}))
            .await
            .expect("sous la limite");
    }
    let e = signaler(json!({"joueur_id": ja, "cible_id": jb, "raison": "onzième"}))
        .await
        .expect_err("au-delà de la limite");
    assert_eq!(code(&e), "TROP_DE_REQUETES");
    assert!(
        e["data"]["reessayer_dans_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0),
        "{e}"
    );

    // A mute and a move need their reason too, and are recorded with it.
    let museler = json!({"joueur_id": jb, "duree_s": 60});
    assert_eq!(
        refus(banc.appel(&admin, "chat.museler", museler).await).1,
        "PARAMETRES_INVALIDES"
    );
    banc.appel(
        &admin,
        "chat.museler",
        json!({"joueur_id": jb, "duree_s": 60, "raison": "insultes"}),
    )
    .await
    .expect("muselé");
    let ici = banc
        .appel(
            &admin,
            "mj.deplacer",
            json!({"joueur_id": jb, "zone": "plaine_verte", "x": 120.0, "y": 80.0, "raison": "coincé dans un rocher"}),
        )
        .await
        .expect("déplacé");
    assert_eq!(ici["zone"], "plaine_verte");
    let auteur = chef.compte_id.to_string();
    assert_eq!(
        dossier(&banc.serveur.passerelle.pool, bruno.compte_id).await,
        [
            ("PersonnageMusele".to_owned(), auteur.clone()),
            ("PersonnageDeplace".to_owned(), auteur)
        ]
    );
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_admin_retrograde_perd_ses_droits_des_son_prochain_appel_sur_chaque_instance(
    pool: PgPool,
) {
    let a = Banc::demarrer(&pool).await;
    let b = a.jumeau(&pool).await;
    let (_chef, admin) = chef(&a).await;
    let joueuse = a.compte("joueuse").await;
    let rowena = a.personnage(&joueuse.jeton, "Rowena", "DPS").await;
    let mut ws = b.ws(Some(&admin)).await;
    let chercher = json!({"texte": "joue"});
    let inventaire = json!({"joueur_id": rowena});

    // Promoted, a token issued: admin over HTTP through A and over a WebSocket on B, and
    // reads another account's inventory.
    a.appel(&admin, "mj.chercher", chercher.clone())
        .await
        .expect("admin en HTTP");
    ws.appel("mj.chercher", chercher.clone())
        .await
        .expect("admin en WebSocket");
    a.lire_quand(&admin, "inventaire.consulter", inventaire.clone(), |_| true)
        .await;

    // Demoted (`mmo admin promouvoir --retirer chef`): the same token, the same socket, no
    // new login, and the next admin call is refused on both instances.
    a.promouvoir("chef", false).await;
    for (quoi, r) in [
        (
            "HTTP",
            a.appel(&admin, "mj.chercher", chercher.clone()).await,
        ),
        (
            "HTTP, l'autre instance",
            b.appel(
                &admin,
                "mj.bannir",
                json!({"joueur_id": rowena, "raison": "x"}),
            )
            .await,
        ),
        ("WebSocket", ws.appel("mj.chercher", chercher.clone()).await),
        (
            "WebSocket, inventaire d'autrui",
            ws.appel("inventaire.consulter", inventaire.clone()).await,
        ),
        (
            "HTTP, inventaire d'autrui",
            a.appel(&admin, "inventaire.consulter", inventaire.clone())
                .await,
        ),
    ] {
        assert_eq!(refus(r), (-32003, "INTERDIT".to_owned()), "{quoi}");
    }
    let socket = ws
        .appel("session.authentifier", json!({"jeton": admin}))
        .await
        .expect("la socket reste au compte");
    assert_eq!(socket["admin"], false, "{socket}");
    assert!(
        dossier(&pool, joueuse.compte_id).await.is_empty(),
        "rien n'a été banni"
    );
    // Still a player: its own calls go on.
    ws.appel("joueur.lister", json!({}))
        .await
        .expect("un joueur comme les autres");

    // Promoted again: the token's claim and the table agree once more.
    a.promouvoir("chef", true).await;
    ws.appel("mj.chercher", chercher)
        .await
        .expect("de nouveau admin");
    b.arreter().await;
    a.arreter().await;
}
