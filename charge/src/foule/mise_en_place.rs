//! The crowd's set-up, not measured: an admin session (the tool's own account, promoted if
//! need be), the zones read from the server by walking the admin's character through them,
//! one character per account, and each character placed where [`super::carte::repartir`]
//! says, with `monde.placer`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::carte::Zone;
use crate::joueur::{Flux, appel};
use crate::preparation::{self, Compte};

/// How many times a placement is tried again when the server is not ready for it (a
/// character created a moment ago, a concurrent move).
const ESSAIS_PLACEMENT: u32 = 50;

/// The admin's session for `login`: the account is registered with the tool's password if
/// missing; if it is not an admin yet, `mmo` (the server's binary) promotes it —
/// `mmo admin promouvoir <login>` on the game database `base` — and it logs in again.
/// Without `mmo`, says what the operator must run.
pub(crate) async fn administrateur(
    http: &reqwest::Client,
    url: &str,
    login: &str,
    mmo: Option<&Path>,
    base: &str,
) -> anyhow::Result<Compte> {
    let compte = preparation::un_compte(http, url, login.to_owned())
        .await
        .with_context(|| {
            format!("session du compte d'administration « {login} » (--admin ; mot de passe de la charge)")
        })?;
    if compte.admin {
        return Ok(compte);
    }
    let Some(mmo) = mmo else {
        bail!(
            "« {login} » n'est pas administrateur : lancez `mmo admin promouvoir {login}` (avec le \
             MMO_DATABASE_URL du serveur), ou donnez --mmo <chemin du binaire mmo> et --base"
        );
    };
    if base == "-" {
        bail!("--mmo promeut le compte dans la base de --base : donnez-la");
    }
    let sortie = std::process::Command::new(mmo)
        .args(["admin", "promouvoir", login])
        .env("MMO_DATABASE_URL", base)
        .output()
        .with_context(|| format!("lancement de {}", mmo.display()))?;
    if !sortie.status.success() {
        bail!(
            "{} admin promouvoir {login} : {}",
            mmo.display(),
            String::from_utf8_lossy(&sortie.stderr).trim()
        );
    }
    let compte = preparation::un_compte(http, url, login.to_owned()).await?;
    if !compte.admin {
        bail!("« {login} » promu, mais sa nouvelle session n'est pas administrateur");
    }
    Ok(compte)
}

/// Places `joueur_id` at `(x, y)` of `zone`, trying again while the server does not know
/// the character yet or it moved meanwhile.
pub(crate) async fn placer(
    admin: &mut Flux,
    joueur_id: &str,
    zone: &str,
    (x, y): (f64, f64),
) -> anyhow::Result<()> {
    let params = json!({ "joueur_id": joueur_id, "zone": zone, "x": x, "y": y });
    for essai in 0..ESSAIS_PLACEMENT {
        match appel(admin, 10 + u64::from(essai), "monde.placer", params.clone()).await? {
            Ok(_) => return Ok(()),
            Err(e) if matches!(e["data"]["code"].as_str(), Some("INTROUVABLE" | "CONFLIT")) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => bail!("monde.placer {params} : {e}"),
        }
    }
    bail!("monde.placer {params} : refusé {ESSAIS_PLACEMENT} fois")
}

/// The zones, read from the server through the admin's character `sonde`: its zone's
/// description (`monde.zone`), then each zone a portal leads to, placing it there in turn;
/// only `seule` if given. Also the side of an interest cell, in metres.
pub(crate) async fn decouvrir(
    admin: &mut Flux,
    sonde: &str,
    seule: Option<&str>,
) -> anyhow::Result<(Vec<Zone>, f64)> {
    if let Some(code) = seule {
        placer(admin, sonde, code, (0.0, 0.0))
            .await
            .with_context(|| format!("--zone {code}"))?;
        let (zone, cellule) = regarder(admin, sonde).await?;
        return Ok((vec![zone], cellule));
    }
    let (premiere, cellule) = regarder(admin, sonde).await?;
    let mut zones = vec![premiere];
    let mut i = 0;
    while i < zones.len() {
        for vers in zones[i].voisines.clone() {
            if zones.iter().any(|z| z.code == vers) {
                continue;
            }
            placer(admin, sonde, &vers, (0.0, 0.0)).await?;
            zones.push(regarder(admin, sonde).await?.0);
        }
        i += 1;
    }
    Ok((zones, cellule))
}

/// The zone where `sonde` stands, and the side of an interest cell (a character created a
/// moment ago may not be known yet: tried again a few times).
async fn regarder(admin: &mut Flux, sonde: &str) -> anyhow::Result<(Zone, f64)> {
    let params = json!({ "joueur_id": sonde });
    let mut essai = 0;
    let vue = loop {
        match appel(admin, 3, "monde.zone", params.clone()).await? {
            Ok(vue) => break vue,
            Err(e) if essai < ESSAIS_PLACEMENT && e["data"]["code"] == "INTROUVABLE" => {
                essai += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => bail!("monde.zone : {e}"),
        }
    };
    let zone = Zone::lire(&vue).with_context(|| format!("monde.zone illisible : {vue}"))?;
    Ok((zone, vue["cellule_interet"].as_f64().unwrap_or(50.0)))
}

/// The admin's own character (`nom`), which visits the zones; made if missing.
pub(crate) async fn sonde(admin: &mut Flux, nom: &str) -> anyhow::Result<String> {
    preparation::un_personnage(admin, nom, "Tank")
        .await
        .with_context(|| format!("personnage {nom} du compte d'administration"))
}
