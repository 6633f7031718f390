//! Hostile clients and authorization, end to end: every method refuses the calls it must
//! refuse, over HTTP and WebSocket, and changes nothing (the authorization matrix); malformed
//! and oversized WebSocket frames close only the socket that sent them; a client that never
//! reads is dropped instead of buffered without end; a flood of idle and unauthenticated
//! connections does not keep a normal client from being served, and is reaped; a connection
//! that never finishes its headers (slowloris) is closed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gateway::rpc::Methode;
use mmo_tests::{Banc, ClientWs, Compte, ORIGINE, code, passerelle_de_test};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------
// The authorization matrix.
// ---------------------------------------------------------------------------------------

/// What Alice owns, that Bob aims at.
struct Decor {
    alice: Compte,
    bob: Compte,
    /// Alice's Tank: in combat `combat`, proposer of the trade `echange`.
    a: Value,
    /// Alice's Heal: the trade's recipient.
    a2: Value,
    /// Bob's character.
    b: Value,
    combat: Value,
    echange: Value,
    position: Value,
}

/// What "another account's character" means for a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Autrui {
    /// The params name Alice's character (or her combat): Bob gets `INTERDIT`.
    Interdit,
    /// The method names no character of anyone's, or is public by design (doc/protocole.md
    /// §3.8): the row does not apply, and the reason is given.
    SansObjet(&'static str),
}

/// For every method: params that would succeed for Alice, and what Bob gets with them. A
/// `match` without a catch-all: a new method does not compile until it is in the matrix.
#[allow(clippy::too_many_lines)] // One arm per method: a table.
fn ligne(m: Methode, d: &Decor) -> (Value, Autrui) {
    use Autrui::{Interdit, SansObjet};
    let (tank, heal, chez_bob, combat, echange) = (&d.a, &d.a2, &d.b, &d.combat, &d.echange);
    let px = d.position["x"].as_f64().unwrap_or(100.0);
    let py = d.position["y"].as_f64().unwrap_or(100.0);
    match m {
        Methode::SessionAuthentifier => (
            json!({"jeton": d.alice.jeton}),
            SansObjet("le jeton d'un autre compte sur une socket : INTERDIT, vérifié à part"),
        ),
        Methode::JoueurCreer => (
            json!({"nom": "Intruse", "classe": "Tank"}),
            SansObjet("crée pour le compte du jeton"),
        ),
        Methode::JoueurLister => (json!({}), SansObjet("liste les personnages du jeton")),
        Methode::JoueurProfil => (json!({"joueur_id": tank}), SansObjet("public (§3.8)")),
        Methode::ClassementConsulter => {
            (json!({"limite": 10}), SansObjet("public, sans personnage"))
        }
        Methode::MondeDeplacer => (json!({"joueur_id": tank, "x": px + 0.5, "y": py}), Interdit),
        Methode::MondeChangerZone => (json!({"joueur_id": tank, "vers": "foret_sombre"}), Interdit),
        Methode::CombatDemarrer => (
            json!({"joueur_id": heal, "rencontre": "meute_de_loups"}),
            Interdit,
        ),
        Methode::CombatRejoindre => (json!({"joueur_id": heal, "combat_id": combat}), Interdit),
        Methode::CombatQuitter | Methode::CombatLancer => {
            (json!({"joueur_id": tank, "combat_id": combat}), Interdit)
        }
        Methode::CombatAgir => (
            json!({"joueur_id": tank, "combat_id": combat, "action": {"type": "defendre"}}),
            Interdit,
        ),
        Methode::CombatEtat => (json!({"combat_id": combat}), SansObjet("public (§3.8)")),
        Methode::CombatHistorique => (json!({"combat_id": combat}), Interdit),
        Methode::QueteCatalogue => (json!({}), SansObjet("public, sans personnage")),
        Methode::QueteAccepter | Methode::QueteAbandonner => (
            json!({"joueur_id": tank, "quete": "chasse_aux_loups"}),
            Interdit,
        ),
        Methode::MondeZone
        | Methode::MondeProches
        | Methode::QueteJournal
        | Methode::InventaireConsulter
        | Methode::EconomieGrandLivre => (json!({"joueur_id": tank}), Interdit),
        Methode::InventaireFabriquer => (
            json!({"joueur_id": tank, "recette": "potion_de_soin"}),
            Interdit,
        ),
        Methode::InventaireAcheter | Methode::InventaireVendre => (
            json!({"joueur_id": tank, "marchand": "apothicaire_mirabelle", "item": "potion_de_soin", "quantite": 1}),
            Interdit,
        ),
        Methode::InventaireJeter => (
            json!({"joueur_id": tank, "item": "pain", "quantite": 1}),
            Interdit,
        ),
        Methode::EchangeProposer => (
            json!({"joueur_id": tank, "destinataire": chez_bob, "offre": {"or": 1}}),
            Interdit,
        ),
        Methode::EchangeModifier => (
            json!({"joueur_id": tank, "echange_id": echange, "offre": {"or": 2}}),
            Interdit,
        ),
        Methode::EchangeAccepter => (json!({"joueur_id": heal, "echange_id": echange}), Interdit),
        Methode::EchangeAnnuler => (json!({"joueur_id": tank, "echange_id": echange}), Interdit),
        Methode::EconomieTotaux | Methode::MjSignalements => {
            (json!({}), SansObjet("méthode d'administration"))
        }
        Methode::MondePlacer => (
            json!({"joueur_id": tank, "zone": "plaine_verte", "x": px, "y": py}),
            SansObjet("méthode d'administration"),
        ),
        Methode::ChatEnvoyer => (
            json!({"joueur_id": tank, "canal": {"type": "monde"}, "texte": "usurpation"}),
            Interdit,
        ),
        Methode::ChatHistorique => (
            json!({"joueur_id": tank, "canal": {"type": "monde"}}),
            Interdit,
        ),
        Methode::ChatMuseler => (
            json!({"joueur_id": tank, "duree_s": 3600, "raison": "spam"}),
            SansObjet("méthode d'administration"),
        ),
        Methode::SignalementCreer => (
            json!({"joueur_id": tank, "cible_id": chez_bob, "raison": "insultes"}),
            Interdit,
        ),
        Methode::MjDossier => (
            json!({"joueur_id": tank}),
            SansObjet("méthode d'administration"),
        ),
        Methode::MjBannir | Methode::MjRetablir | Methode::MjExpulser => (
            json!({"joueur_id": tank, "raison": "triche"}),
            SansObjet("méthode d'administration"),
        ),
        Methode::MjDonner | Methode::MjRetirer => (
            json!({"joueur_id": tank, "or": 5, "raison": "compensation"}),
            SansObjet("méthode d'administration"),
        ),
        Methode::MjDeplacer => (
            json!({"joueur_id": tank, "zone": "plaine_verte", "x": px, "y": py, "raison": "coincé"}),
            SansObjet("méthode d'administration"),
        ),
        Methode::MjTraiterSignalement => (
            json!({"signalement_id": "00000000-0000-0000-0000-000000000001", "note": "vu"}),
            SansObjet("méthode d'administration"),
        ),
        Methode::MjChercher | Methode::MjChronologie | Methode::MjEtatA | Methode::MjDifference => {
            (
                json!({"joueur_id": tank}),
                SansObjet("méthode d'administration"),
            )
        }
        Methode::EvenementsDepuis => (
            json!({"curseur": "0.0"}),
            SansObjet("ne rend que les événements du compte du jeton"),
        ),
    }
}

/// The refusal's `(error.code, data.code)`.
fn refus(r: Result<Value, Value>, quoi: &str) -> (i64, String) {
    let e = r.expect_err(quoi);
    (e["code"].as_i64().unwrap_or(0), code(&e).to_owned())
}

fn appel_json(methode: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": methode, "params": params}).to_string()
}

async fn http(banc: &Banc, jeton: Option<&str>, m: Methode, p: &Value) -> Result<Value, Value> {
    let (statut, r) = banc.rpc_brut(jeton, appel_json(m.nom(), p)).await;
    assert_eq!(statut, StatusCode::OK, "{}: {r}", m.nom());
    mmo_tests::resultat(r)
}

/// Tokens that are not ours: another secret (claiming admin), `alg: none`, Alice's token
/// with its payload changed to admin.
fn jetons_forges(alice: &Compte) -> Vec<(&'static str, String)> {
    let autre_secret = alice.jeton_forge();
    let mut parties = alice.jeton.split('.');
    let (_, charge, signature) = (
        parties.next().expect("en-tête"),
        parties.next().expect("charge"),
        parties.next().expect("signature"),
    );
    let mut revendications: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(charge).expect("base64")).expect("JSON");
    revendications["adm"] = json!(true);
    let charge_admin = URL_SAFE_NO_PAD.encode(revendications.to_string());
    let sans_algo = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    vec![
        ("autre secret", autre_secret),
        ("alg none", format!("{sans_algo}.{charge_admin}.")),
        (
            "charge modifiée",
            format!(
                "{}.{charge_admin}.{signature}",
                alice.jeton.split('.').next().unwrap_or_default()
            ),
        ),
    ]
}

/// Waits until no event is written for a while: the process managers have done their part.
async fn au_repos(pool: &PgPool) -> i64 {
    let mut dernier = -1;
    let mut stable_depuis = Instant::now();
    let debut = Instant::now();
    loop {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
            .fetch_one(pool)
            .await
            .expect("compte des événements");
        if n != dernier {
            dernier = n;
            stable_depuis = Instant::now();
        } else if stable_depuis.elapsed() > Duration::from_millis(1_500) {
            return n;
        }
        assert!(
            debut.elapsed() < mmo_tests::PATIENCE,
            "le jeu ne se calme pas"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Everything the matrix could have changed, as Alice and Bob read it.
async fn etat_du_jeu(banc: &Banc, pool: &PgPool, d: &Decor) -> Value {
    let comptes = |table: &'static str| async move {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .expect(table);
        n
    };
    let lire = |jeton: String, methode: &'static str, p: Value| async move {
        banc.appel(&jeton, methode, p).await.expect(methode)
    };
    let ja = d.alice.jeton.clone();
    let mut zone = lire(ja.clone(), "monde.zone", json!({"joueur_id": d.a})).await;
    let position = zone["position"].take();
    json!({
        "events": au_repos(pool).await,
        "comptes": comptes("comptes").await,
        "noms_joueurs": comptes("noms_joueurs").await,
        "position": position,
        "personnages_alice": lire(ja.clone(), "joueur.lister", json!({})).await,
        "personnages_bob": lire(d.bob.jeton.clone(), "joueur.lister", json!({})).await,
        "inventaire": lire(ja.clone(), "inventaire.consulter", json!({"joueur_id": d.a})).await,
        "grand_livre": lire(ja.clone(), "economie.grand_livre", json!({"joueur_id": d.a})).await,
        "journal": lire(ja.clone(), "quete.journal", json!({"joueur_id": d.a})).await,
        "combat": lire(ja.clone(), "combat.etat", json!({"combat_id": d.combat})).await,
        "chat": lire(ja.clone(), "chat.historique", json!({"joueur_id": d.a, "canal": {"type": "monde"}})).await,
    })
}

async fn decor(banc: &Banc, pool: &PgPool) -> Decor {
    let alice = banc.compte("alice").await;
    let bob = banc.compte("bob").await;
    let a = banc.personnage(&alice.jeton, "Alicia", "Tank").await;
    let a2 = banc.personnage(&alice.jeton, "Aliette", "Heal").await;
    let b = banc.personnage(&bob.jeton, "Bobinette", "DPS").await;
    // The inventories are opened by a process manager: wait for them before trading.
    for j in [&a, &a2] {
        banc.lire_quand(
            &alice.jeton,
            "inventaire.consulter",
            json!({"joueur_id": j}),
            |_| true,
        )
        .await;
    }
    let zone = banc
        .appel(&alice.jeton, "monde.zone", json!({"joueur_id": a}))
        .await
        .expect("zone");
    let combat = banc
        .appel(
            &alice.jeton,
            "combat.demarrer",
            json!({"joueur_id": a, "rencontre": "meute_de_loups"}),
        )
        .await
        .expect("combat")["combat_id"]
        .clone();
    let echange = banc
        .appel(
            &alice.jeton,
            "echange.proposer",
            json!({"joueur_id": a, "destinataire": a2, "offre": {"items": {"pain": 1}}}),
        )
        .await
        .expect("échange")["echange_id"]
        .clone();
    banc.appel(
        &alice.jeton,
        "chat.envoyer",
        json!({"joueur_id": a, "canal": {"type": "monde"}, "texte": "bonjour"}),
    )
    .await
    .expect("message");
    banc.lire_quand(
        &alice.jeton,
        "combat.etat",
        json!({"combat_id": combat}),
        |_| true,
    )
    .await;
    au_repos(pool).await;
    Decor {
        alice,
        bob,
        a,
        a2,
        b,
        combat,
        echange,
        position: zone["position"].clone(),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn chaque_methode_refuse_sans_jeton_jeton_expire_ou_forge_autrui_et_non_admin_et_rien_ne_change(
    pool: PgPool,
) {
    let banc = Banc::demarrer(&pool).await;
    let d = decor(&banc, &pool).await;
    let avant = etat_du_jeu(&banc, &pool, &d).await;

    let perime = d.alice.jeton_perime();
    let forges = jetons_forges(&d.alice);
    let url = format!("ws://{}/ws", banc.serveur.adresse);
    let non_authentifie = (-32001, "NON_AUTHENTIFIE".to_owned());
    let expire = (-32001, "JETON_EXPIRE".to_owned());
    let invalide = (-32001, "JETON_INVALIDE".to_owned());
    let interdit = (-32003, "INTERDIT".to_owned());
    let mut lignes = Vec::new();

    for &m in Methode::TOUTES {
        let (p, autrui) = ligne(m, &d);
        let nom = m.nom();
        let http_seul = m == Methode::SessionAuthentifier;

        // HTTP: no token, expired, forged. (`session.authentifier` is WebSocket only.)
        let (sans, exp) = if http_seul {
            let inconnue = (-32601, "METHODE_INCONNUE".to_owned());
            (inconnue.clone(), inconnue)
        } else {
            (non_authentifie.clone(), expire.clone())
        };
        assert_eq!(
            refus(http(&banc, None, m, &p).await, nom),
            sans,
            "{nom} HTTP sans jeton"
        );
        assert_eq!(
            refus(http(&banc, Some(&perime), m, &p).await, nom),
            exp,
            "{nom} HTTP expiré"
        );
        for (genre, forge) in &forges {
            let attendu = if http_seul {
                sans.clone()
            } else {
                invalide.clone()
            };
            assert_eq!(
                refus(http(&banc, Some(forge), m, &p).await, nom),
                attendu,
                "{nom} HTTP forgé ({genre})"
            );
        }

        // WebSocket: no token; then a refused `session.authentifier` (expired, forged) leaves
        // the socket unauthenticated.
        if m == Methode::SessionAuthentifier {
            let mut ws = banc.ws(None).await;
            let r = ws.appel(nom, json!({"jeton": perime})).await;
            assert_eq!(refus(r, nom), expire, "{nom} WS expiré");
            for (genre, forge) in &forges {
                let r = ws.appel(nom, json!({"jeton": forge})).await;
                assert_eq!(refus(r, nom), invalide, "{nom} WS forgé ({genre})");
            }
            // Another account's token on Bob's socket.
            let mut ws = banc.ws(Some(&d.bob.jeton)).await;
            assert_eq!(
                refus(ws.appel(nom, p.clone()).await, nom),
                interdit,
                "{nom} WS autrui"
            );
            lignes.push(format!(
                "{nom} : sans jeton sans objet (c'est l'authentification)"
            ));
            continue;
        }
        let mut ws = banc.ws(None).await;
        assert_eq!(
            refus(ws.appel(nom, p.clone()).await, nom),
            non_authentifie,
            "{nom} WS sans jeton"
        );
        for (genre, jeton) in
            std::iter::once(("expiré", &perime)).chain(forges.iter().map(|(g, j)| (*g, j)))
        {
            let mut ws = banc.ws(None).await;
            let r = ws
                .appel("session.authentifier", json!({"jeton": jeton}))
                .await;
            assert_eq!(
                refus(r, genre).0,
                -32001,
                "{nom} WS {genre} : authentification"
            );
            assert_eq!(
                refus(ws.appel(nom, p.clone()).await, nom),
                non_authentifie,
                "{nom} WS {genre}"
            );
        }

        // Bob, authenticated, on both transports.
        let mut ws_bob = banc.ws(Some(&d.bob.jeton)).await;
        if m.admin() {
            assert_eq!(
                refus(http(&banc, Some(&d.bob.jeton), m, &p).await, nom),
                interdit,
                "{nom} HTTP non admin"
            );
            assert_eq!(
                refus(ws_bob.appel(nom, p.clone()).await, nom),
                interdit,
                "{nom} WS non admin"
            );
            // The role is checked before the params: a non-admin learns nothing about them.
            let r = http(&banc, Some(&d.bob.jeton), m, &json!({"pirate": 1})).await;
            assert_eq!(refus(r, nom), interdit, "{nom} non admin, paramètres faux");
        }
        match autrui {
            Autrui::Interdit => {
                assert_eq!(
                    refus(http(&banc, Some(&d.bob.jeton), m, &p).await, nom),
                    interdit,
                    "{nom} HTTP autrui"
                );
                assert_eq!(
                    refus(ws_bob.appel(nom, p.clone()).await, nom),
                    interdit,
                    "{nom} WS autrui"
                );
                lignes.push(format!("{nom} : autrui INTERDIT"));
            }
            Autrui::SansObjet(pourquoi) => {
                lignes.push(format!("{nom} : autrui sans objet ({pourquoi})"));
            }
        }
    }

    // What Bob may call on his own and that names no one: it shows him nothing of Alice's.
    let siens = banc
        .appel(&d.bob.jeton, "joueur.lister", json!({}))
        .await
        .expect("liste");
    assert!(
        !siens.to_string().contains(d.a.as_str().unwrap_or("?")),
        "{siens}"
    );
    let evenements = banc
        .appel(
            &d.bob.jeton,
            "evenements.depuis",
            json!({"curseur": "0.0", "limite": 500}),
        )
        .await
        .expect("rattrapage");
    for id in [&d.a, &d.a2, &d.combat, &d.echange] {
        let id = id.as_str().unwrap_or("?");
        assert!(
            !evenements.to_string().contains(id),
            "Bob voit {id} : {evenements}"
        );
    }
    // A token refused at the upgrade is refused before any socket exists.
    for (jeton, attendu) in [
        (perime.as_str(), "JETON_EXPIRE"),
        (forges[0].1.as_str(), "JETON_INVALIDE"),
    ] {
        let refus = ClientWs::connecter(&format!("{url}?jeton={jeton}"), Some(ORIGINE))
            .await
            .err()
            .expect("ouverture refusée");
        assert_eq!(refus.0, 401);
        assert!(refus.1.contains(attendu), "{}", refus.1);
    }

    let apres = etat_du_jeu(&banc, &pool, &d).await;
    assert_eq!(avant, apres, "la matrice a changé l'état du jeu");
    // Alice was not muted by Bob's `chat.museler`.
    banc.appel(
        &d.alice.jeton,
        "chat.envoyer",
        json!({"joueur_id": d.a, "canal": {"type": "monde"}, "texte": "toujours là"}),
    )
    .await
    .expect("Alice parle encore");
    eprintln!("matrice :\n  {}", lignes.join("\n  "));
    banc.arreter().await;
}

// ---------------------------------------------------------------------------------------
// Raw WebSocket frames.
// ---------------------------------------------------------------------------------------

/// Opens a WebSocket by hand (no client library to refuse what we send): the TCP stream
/// after the 101.
async fn poignee_de_main(adresse: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(adresse).await.expect("connexion TCP");
    let requete = format!(
        "GET /ws HTTP/1.1\r\nHost: {adresse}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(requete.as_bytes()).await.expect("ouverture");
    let mut lu = Vec::new();
    let mut octet = [0u8; 1];
    while !lu.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut octet)
            .await
            .expect("réponse d'ouverture");
        lu.push(octet[0]);
    }
    assert!(
        lu.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&lu)
    );
    tcp
}

/// A frame: first byte (FIN, RSV, opcode), payload, masked or not, length as announced.
fn trame(premier: u8, charge: &[u8], masquee: bool, annoncee: Option<u64>) -> Vec<u8> {
    let mut t = vec![premier];
    let masque = if masquee { 0x80 } else { 0 };
    let n = annoncee.unwrap_or(charge.len() as u64);
    if n < 126 {
        t.push(masque | n as u8);
    } else if let Ok(n) = u16::try_from(n) {
        t.push(masque | 0x7e); // 126: a 16-bit length follows
        t.extend(n.to_be_bytes());
    } else {
        t.push(masque | 0x7f); // 127: a 64-bit length follows
        t.extend(n.to_be_bytes());
    }
    if masquee {
        let cle = [0x37, 0xfa, 0x21, 0x3d];
        t.extend(cle);
        t.extend(charge.iter().enumerate().map(|(i, o)| o ^ cle[i % 4]));
    } else {
        t.extend(charge);
    }
    t
}

/// How the server reacted.
#[derive(Debug, PartialEq, Eq)]
enum Issue {
    /// It closed the connection; with this close code if it sent one.
    Fermee(Option<u16>),
    /// Still open after the wait; what it sent meanwhile.
    Ouverte(Vec<u8>),
}

/// Reads what the server sends until it closes, or `delai`.
async fn issue(tcp: &mut TcpStream, delai: Duration) -> Issue {
    let fin = tokio::time::Instant::now() + delai;
    let mut recu = Vec::new();
    let mut tampon = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(fin, tcp.read(&mut tampon)).await {
            Err(_) => return Issue::Ouverte(recu),
            Ok(Ok(0) | Err(_)) => return Issue::Fermee(code_de_fermeture(&recu)),
            Ok(Ok(n)) => recu.extend_from_slice(&tampon[..n]),
        }
    }
}

/// The code of the first close frame among the server's (unmasked) frames.
fn code_de_fermeture(mut octets: &[u8]) -> Option<u16> {
    while octets.len() >= 2 {
        let opcode = octets[0] & 0x0f;
        let (n, entete) = match octets[1] & 0x7f {
            126 if octets.len() >= 4 => {
                (usize::from(u16::from_be_bytes([octets[2], octets[3]])), 4)
            }
            127 => return None,
            n => (usize::from(n), 2),
        };
        let charge = octets.get(entete..entete + n)?;
        if opcode == 8 {
            return (charge.len() >= 2).then(|| u16::from_be_bytes([charge[0], charge[1]]));
        }
        octets = &octets[entete + n..];
    }
    None
}

/// The process's resident memory, in KiB (Linux). Fails rather than guess: a 0 would make
/// the growth check below pass whatever the server held.
fn memoire_residente() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status lisible");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("pas de VmRSS lisible dans /proc/self/status :\n{status}"))
}

async fn servi(banc: &Banc, jeton: &str) -> Duration {
    let debut = Instant::now();
    banc.appel(jeton, "quete.catalogue", json!({}))
        .await
        .expect("servi");
    debut.elapsed()
}

#[sqlx::test(migrations = "../migrations")]
async fn des_trames_malformees_ferment_seulement_leur_socket(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;
    let mut voisine = banc.ws(Some(&alice.jeton)).await;
    let texte = |s: &str| trame(0x81, s.as_bytes(), true, None);
    let appel = r#"{"jsonrpc":"2.0","id":1,"method":"quete.catalogue"}"#;
    let kio = vec![b'a'; 40 * 1024];
    // What the server answers: its close code (1002 outside the protocol, 1007 not UTF-8,
    // 1009 too big), or none after the client's own close frame.
    let protocole = Some(1002);
    let cas: Vec<(&str, Vec<u8>, Option<u16>)> = vec![
        ("opcode réservé", trame(0x83, b"x", true, None), protocole),
        (
            "opcode de contrôle réservé",
            trame(0x8b, b"", true, None),
            protocole,
        ),
        (
            "texte qui n'est pas de l'UTF-8",
            trame(0x81, &[0xc3, 0x28, 0xff], true, None),
            Some(1007),
        ),
        (
            "trame non masquée",
            trame(0x81, appel.as_bytes(), false, None),
            protocole,
        ),
        (
            "bits réservés",
            trame(0xc1, appel.as_bytes(), true, None),
            protocole,
        ),
        (
            "suite sans début",
            trame(0x80, b"orpheline", true, None),
            protocole,
        ),
        (
            "nouveau message au milieu d'un fragmenté",
            [trame(0x01, b"{\"json", true, None), texte(appel)].concat(),
            protocole,
        ),
        (
            "ping de plus de 125 octets",
            trame(0x89, &[0; 200], true, None),
            protocole,
        ),
        ("ping fragmenté", trame(0x09, b"x", true, None), protocole),
        (
            "fermeture de code invalide",
            trame(0x88, &[0x03, 0xe7], true, None),
            None,
        ),
        (
            "trame annoncée de 1 Tio",
            trame(0x81, b"", true, Some(1_u64 << 40)),
            Some(1009),
        ),
        (
            "trame de 70 Kio",
            trame(0x81, &vec![b' '; 70 * 1024], true, None),
            Some(1009),
        ),
        (
            "message fragmenté de 80 Kio",
            [trame(0x01, &kio, true, None), trame(0x80, &kio, true, None)].concat(),
            Some(1009),
        ),
    ];
    for (quoi, octets, code_attendu) in cas {
        let mut tcp = poignee_de_main(banc.serveur.adresse).await;
        // The server may close before reading all of it: a write error is an answer too.
        let _ = tcp.write_all(&octets).await;
        let issue = issue(&mut tcp, Duration::from_secs(5)).await;
        eprintln!("{quoi} : {issue:?}");
        assert_eq!(issue, Issue::Fermee(code_attendu), "{quoi}");
        assert!(
            voisine.appel("quete.catalogue", json!({})).await.is_ok(),
            "{quoi} : la voisine n'est plus servie"
        );
    }

    // Binary garbage is answered, not fatal: the socket goes on serving.
    let mut tcp = poignee_de_main(banc.serveur.adresse).await;
    let dechets: Vec<u8> = (0..60_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    tcp.write_all(&trame(0x82, &dechets, true, None))
        .await
        .expect("binaire");
    tcp.write_all(&texte(appel)).await.expect("appel");
    let Issue::Ouverte(recu) = issue(&mut tcp, Duration::from_secs(2)).await else {
        panic!("un message binaire a fermé la socket");
    };
    let recu = String::from_utf8_lossy(&recu);
    // (The socket is not authenticated: the call after the garbage is answered, refused.)
    assert!(
        recu.contains("REQUETE_INVALIDE") && recu.contains("\"id\":1"),
        "{recu}"
    );

    let reponse = banc
        .http
        .get(format!("{}/healthz", banc.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(reponse.status(), StatusCode::OK);
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_client_qui_ne_lit_jamais_est_deconnecte_et_les_autres_restent_servis(pool: PgPool) {
    let mut reglages = passerelle_de_test();
    reglages.appels_par_seconde = 100_000;
    let banc = Banc::demarrer_avec(&pool, reglages).await;
    let lent = banc.compte("lent").await;
    let alice = banc.compte("alice").await;
    let creer = |nom: &'static str| {
        let jeton = lent.jeton.clone();
        let banc = &banc;
        async move {
            let p = json!({"nom": nom, "classe": "Tank"});
            banc.appel(&jeton, "joueur.creer", p)
                .await
                .expect("personnage")["joueur_id"]
                .clone()
        }
    };
    let (l1, l2) = (creer("Lentille").await, creer("Lenteur").await);
    for j in [&l1, &l2] {
        banc.lire_quand(
            &lent.jeton,
            "inventaire.consulter",
            json!({"joueur_id": j}),
            |_| true,
        )
        .await;
    }

    let memoire_avant = memoire_residente();
    // The slow client asks for a lot (batches of 50 catalogs) and never reads a byte; its
    // small receive buffer fills at once, and the server's write to it blocks.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("tampon");
    let tcp = socket
        .connect(banc.serveur.adresse)
        .await
        .expect("connexion");
    let url = format!("ws://{}/ws?jeton={}", banc.serveur.adresse, lent.jeton);
    let (mut flux, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .expect("WebSocket");
    let lot: Vec<Value> = (0..50)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "quete.catalogue"}))
        .collect();
    let lot = Value::Array(lot).to_string();
    let ecrivain = tokio::spawn(async move {
        use futures_util::SinkExt as _;
        let mut envoyes = 0u32;
        for _ in 0..2_000 {
            let envoi = flux.send(tokio_tungstenite::tungstenite::Message::Text(
                lot.clone().into(),
            ));
            match tokio::time::timeout(Duration::from_secs(20), envoi).await {
                Ok(Ok(())) => envoyes += 1,
                _ => break,
            }
        }
        (envoyes, flux)
    });

    // While its socket is stuck writing, its account gets more pushes than its queue holds
    // (trades proposed between its characters): they are dropped, not buffered. How soon the
    // socket is stuck depends on the machine: propose until the server reports drops.
    let lire_abandonnees = || async {
        let metriques = banc
            .http
            .get(format!("{}/metrics", banc.base))
            .send()
            .await
            .expect("métriques")
            .text()
            .await
            .expect("texte");
        let n: f64 = metriques
            .lines()
            .find_map(|l| l.strip_prefix("mmo_pousses_abandonnees_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("mmo_pousses_abandonnees_total absent :\n{metriques}"));
        n
    };
    let mut proposes = 0;
    let abandonnees = loop {
        for _ in 0..50 {
            let p = json!({"joueur_id": l1, "destinataire": l2, "offre": {}});
            banc.appel(&lent.jeton, "echange.proposer", p)
                .await
                .expect("échange proposé");
        }
        proposes += 50;
        let n = lire_abandonnees().await;
        if n >= 1.0 {
            break n;
        }
        assert!(
            proposes < 3_000,
            "aucune notification abandonnée après {proposes} échanges proposés"
        );
    };
    eprintln!("client lent : {abandonnees} notifications abandonnées ({proposes} échanges)");

    // Meanwhile, the others are served promptly.
    let mut voisine = banc.ws(Some(&alice.jeton)).await;
    let debut = Instant::now();
    let mut pire = Duration::ZERO;
    let mut memoire_max = memoire_avant;
    while debut.elapsed() < Duration::from_secs(12) {
        memoire_max = memoire_max.max(memoire_residente());
        pire = pire.max(servi(&banc, &alice.jeton).await);
        let t = Instant::now();
        assert!(voisine.appel("joueur.lister", json!({})).await.is_ok());
        pire = pire.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(pire < Duration::from_secs(2), "une voisine attend {pire:?}");
    // What the server holds for the slow socket stays bounded (one message at a time, then the
    // kernel's buffers): the whole test process, server included, grows by little.
    let croissance = memoire_max.saturating_sub(memoire_avant);
    eprintln!("client lent : mémoire résidente {memoire_avant} Kio, au plus {memoire_max} Kio");
    assert!(
        croissance < 128 * 1024,
        "la mémoire a crû de {croissance} Kio"
    );

    // The server gave up on the slow socket (a write stuck 10 s): reading it now drains what
    // the buffers hold, then the end.
    let (envoyes, mut flux) = ecrivain.await.expect("écrivain");
    let fin = tokio::time::timeout(Duration::from_secs(30), async {
        use futures_util::StreamExt as _;
        let mut messages = 0u32;
        while let Some(Ok(m)) = flux.next().await {
            if m.is_close() {
                break;
            }
            messages += 1;
        }
        messages
    })
    .await;
    let lus = fin.expect("la socket lente n'a pas été fermée");
    assert!(
        u64::from(lus) < u64::from(envoyes),
        "{lus} réponses pour {envoyes} lots"
    );
    eprintln!("client lent : {envoyes} lots envoyés, {lus} réponses reçues avant la fermeture");
    assert!(voisine.appel("joueur.lister", json!({})).await.is_ok());
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_deluge_de_connexions_oisives_ne_prive_pas_un_client_normal_et_se_resorbe_seul(
    pool: PgPool,
) {
    const SOCKETS: usize = 300;
    const TCP_MUETTES: usize = 100;
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;
    let debut = Instant::now();
    let mut oisives = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS {
        oisives.push(poignee_de_main(banc.serveur.adresse).await);
    }
    let mut muettes = Vec::with_capacity(TCP_MUETTES);
    for i in 0..TCP_MUETTES {
        let mut tcp = TcpStream::connect(banc.serveur.adresse).await.expect("TCP");
        if i % 2 == 1 {
            // Half of them start a request and never finish its headers.
            tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("début");
        }
        muettes.push(tcp);
    }
    let ouvertes = Instant::now();
    eprintln!(
        "{SOCKETS} sockets et {TCP_MUETTES} connexions muettes ouvertes en {:?}",
        debut.elapsed()
    );

    let mut pire = Duration::ZERO;
    let mut ws = banc.ws(Some(&alice.jeton)).await;
    for _ in 0..20 {
        pire = pire.max(servi(&banc, &alice.jeton).await);
        let t = Instant::now();
        assert!(ws.appel("joueur.lister", json!({})).await.is_ok());
        pire = pire.max(t.elapsed());
    }
    assert!(
        pire < Duration::from_secs(2),
        "un client normal attend {pire:?}"
    );

    // Unauthenticated sockets are closed at 10 s (4401): the flood drains by itself.
    let mut codes = std::collections::BTreeMap::new();
    for tcp in &mut oisives {
        let attente = Duration::from_secs(13)
            .saturating_sub(ouvertes.elapsed())
            .max(Duration::from_secs(1));
        let issue = issue(tcp, attente).await;
        *codes.entry(format!("{issue:?}")).or_insert(0) += 1;
    }
    assert_eq!(
        codes.get("Fermee(Some(4401))"),
        Some(&SOCKETS),
        "issues des sockets oisives : {codes:?}"
    );
    // Connections that never finish a request's headers are closed at 10 s
    // (`serveur::ENTETES_MAX`): an idle flood does not hold descriptors for ever.
    for tcp in &mut muettes {
        let issue = issue(tcp, Duration::from_secs(5)).await;
        assert_eq!(issue, Issue::Fermee(None), "connexion muette");
    }
    assert!(servi(&banc, &alice.jeton).await < Duration::from_secs(2));
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_id_numerique_revient_tel_quel_meme_flottant(pool: PgPool) {
    // Found by the fuzzing over HTTP: without serde_json's exact float parsing, the server
    // read `6.599744089251595e218` a hair off and sent back `6.599744089251594e218`.
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;
    for id in [
        "6.599744089251595e+218",
        "-1.0840239900336119e-294",
        "1.5686107100510318e+265",
        "12482704923773847068",
        "-9223372036854775808",
        "0.1",
        "-0.0",
    ] {
        let corps = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"quete.catalogue"}}"#);
        let (_, reponse) = banc.rpc_brut(Some(&alice.jeton), corps).await;
        let attendu: Value = serde_json::from_str(id).expect("nombre");
        assert_eq!(reponse["id"], attendu, "{id}");
        assert_eq!(reponse["id"].to_string(), attendu.to_string(), "{id}");
    }
    banc.arreter().await;
}
