//! The set-up before a run, not measured: accounts registered (or found) and logged in,
//! sockets opened from several loopback source addresses, characters created (or found
//! from an earlier run with the same prefix) and placed in the world.
//!
//! Logins are slow by design (argon2id, 19 MiB, 2 passes): a character is one of
//! [`PERSONNAGES_PAR_COMPTE`] of its account, and sockets without a character share the
//! accounts, so 10,000 sockets need only a few hundred logins. The crowd profile
//! ([`crate::foule`]) takes one account per character instead, and its helpers here:
//! [`un_compte`], [`un_personnage`].

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::net::TcpSocket;

use crate::joueur::{Flux, Personnage, appel};
use crate::partie::Partie;

/// Characters per account: the game's limit (`regles.personnages_par_compte`).
pub(crate) const PERSONNAGES_PAR_COMPTE: usize = 5;
/// Every account's password.
const MOT_DE_PASSE: &str = "phrase de passe de la charge";
/// Sockets opened from one source address (each uses one of its ~28,000 ephemeral ports).
pub(crate) const SOCKETS_PAR_SOURCE: usize = 8_000;

/// An account with a session.
#[derive(Debug, Clone)]
pub(crate) struct Compte {
    /// Its access token.
    pub(crate) jeton: String,
    /// Whether the session carries the admin role.
    pub(crate) admin: bool,
}

/// Registers (409: already there, fine) and logs in `nombre` accounts, `simultanes` at a
/// time; retries while the server says 429 or 503.
pub(crate) async fn comptes(
    http: &reqwest::Client,
    base: &str,
    prefixe: &str,
    nombre: usize,
    simultanes: usize,
) -> anyhow::Result<Vec<Compte>> {
    let taches = futures_util::stream::iter(0..nombre)
        .map(|a| {
            let login = format!("{prefixe}-{a}");
            async move { un_compte(http, base, login).await }
        })
        .buffered(simultanes.max(1));
    taches.collect::<Vec<_>>().await.into_iter().collect()
}

/// Registers `login` (with the tool's password; already there is fine) and logs it in;
/// retries while the server says 429 or 503.
pub(crate) async fn un_compte(
    http: &reqwest::Client,
    base: &str,
    login: String,
) -> anyhow::Result<Compte> {
    let corps = json!({ "login": login, "mot_de_passe": MOT_DE_PASSE });
    for (chemin, attendus) in [
        ("/api/comptes", &[201_u16, 409][..]),
        ("/api/sessions", &[200][..]),
    ] {
        loop {
            let r = http
                .post(format!("{base}{chemin}"))
                .json(&corps)
                .send()
                .await?;
            let statut = r.status().as_u16();
            let reponse: Value = r.json().await.unwrap_or(Value::Null);
            if attendus.contains(&statut) {
                if chemin == "/api/sessions" {
                    let jeton = reponse["jeton_acces"]
                        .as_str()
                        .context("jeton_acces")?
                        .to_owned();
                    let admin = reponse["admin"].as_bool().unwrap_or(false);
                    return Ok(Compte { jeton, admin });
                }
                break;
            }
            if statut == 429 || statut == 503 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            bail!("{chemin} pour {login} : HTTP {statut} {reponse}");
        }
    }
    unreachable!("la boucle des sessions rend le compte")
}

/// Opens a socket authenticated by `jeton`, from `source`.
pub(crate) async fn ouvrir(
    cible: SocketAddr,
    hote_port: &str,
    jeton: &str,
    source: Ipv4Addr,
) -> anyhow::Result<Flux> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let tcp = socket
        .connect(cible)
        .await
        .with_context(|| format!("connexion TCP depuis {source}"))?;
    tcp.set_nodelay(true)?;
    let url = format!("ws://{hote_port}/ws?jeton={jeton}");
    let (flux, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .context("ouverture de la WebSocket")?;
    Ok(flux)
}

/// The source address of socket `i`: 127.0.0.1, then .2 after [`SOCKETS_PAR_SOURCE`]...
pub(crate) fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (i / SOCKETS_PAR_SOURCE).min(253) as u8)
}

/// The characters of account `a`'s sockets (`(i, socket)`, `i` the character's number):
/// found by name if an earlier run made them, else created; each then placed (`monde.zone`,
/// which also makes its socket hear the zone).
pub(crate) async fn personnages(
    prefixe: &str,
    mut sockets: Vec<(usize, Flux)>,
) -> anyhow::Result<Vec<(usize, Flux, String, (f64, f64))>> {
    let Some((_, premier)) = sockets.first_mut() else {
        return Ok(Vec::new());
    };
    let existants = existants(premier).await?;
    let mut faits = Vec::with_capacity(sockets.len());
    for (i, mut flux) in sockets {
        let nom = format!("{prefixe}{i}");
        let joueur_id = if let Some(id) = existants.get(&nom) {
            id.clone()
        } else {
            creer(&mut flux, &nom, classe(i)).await?
        };
        let mut position = (100.0, 100.0);
        for essai in 0..50 {
            match appel(
                &mut flux,
                3 + essai,
                "monde.zone",
                json!({ "joueur_id": joueur_id }),
            )
            .await?
            {
                Ok(r) => {
                    position = (
                        r["position"]["x"].as_f64().unwrap_or(100.0),
                        r["position"]["y"].as_f64().unwrap_or(100.0),
                    );
                    break;
                }
                // Just created: the name reservation may not be readable yet.
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        faits.push((i, flux, joueur_id, position));
    }
    Ok(faits)
}

/// The class of character number `i`: Tank, DPS, Heal in turn.
pub(crate) fn classe(i: usize) -> &'static str {
    ["Tank", "DPS", "Heal"][i % 3]
}

/// The account's characters, by name: their ids.
async fn existants(flux: &mut Flux) -> anyhow::Result<HashMap<String, String>> {
    Ok(appel(flux, 1, "joueur.lister", json!({}))
        .await?
        .map_err(|e| anyhow::anyhow!("joueur.lister : {e}"))?["personnages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["nom"].as_str()?.to_owned(),
                p["joueur_id"].as_str()?.to_owned(),
            ))
        })
        .collect())
}

async fn creer(flux: &mut Flux, nom: &str, classe: &str) -> anyhow::Result<String> {
    let r = appel(
        flux,
        2,
        "joueur.creer",
        json!({ "nom": nom, "classe": classe }),
    )
    .await?
    .map_err(|e| {
        anyhow::anyhow!(
            "joueur.creer {nom} : {e} (un nom pris par un autre compte : changez --prefixe)"
        )
    })?;
    Ok(r["joueur_id"].as_str().context("joueur_id")?.to_owned())
}

/// The id of the socket's account's character `nom`, created (of `classe`) if the account
/// has none of that name.
pub(crate) async fn un_personnage(
    flux: &mut Flux,
    nom: &str,
    classe: &str,
) -> anyhow::Result<String> {
    match existants(flux).await?.remove(nom) {
        Some(id) => Ok(id),
        None => creer(flux, nom, classe).await,
    }
}

/// Groups characters `0..n` in parties of three (Tank, DPS, Heal by number); a last
/// incomplete group plays alone (no combat, no trade).
pub(crate) fn en_parties(
    mut joueurs: Vec<(usize, Flux, String, (f64, f64))>,
) -> Vec<(usize, Flux, Personnage)> {
    joueurs.sort_by_key(|(i, ..)| *i);
    let mut partie_de: HashMap<usize, Arc<Mutex<Partie>>> = HashMap::new();
    let ids: HashMap<usize, String> = joueurs
        .iter()
        .map(|(i, _, id, _)| (*i, id.clone()))
        .collect();
    joueurs
        .into_iter()
        .map(|(i, flux, joueur_id, position)| {
            let base = i - i % 3;
            let membres = [base, base + 1, base + 2].map(|k| ids.get(&k).cloned());
            let partie = match membres {
                [Some(t), Some(d), Some(h)] => Some((
                    partie_de
                        .entry(base)
                        .or_insert_with(|| Arc::new(Mutex::new(Partie::new([t, d, h]))))
                        .clone(),
                    i % 3,
                )),
                _ => None,
            };
            (
                i,
                flux,
                Personnage {
                    joueur_id,
                    position,
                    partie,
                },
            )
        })
        .collect()
}
