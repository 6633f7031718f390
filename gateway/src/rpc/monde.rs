//! Service Monde: `monde.zone|deplacer|changer_zone|proches`, and `monde.placer` for admins.
//! A move, a zone change or a placement is pushed (`monde.deplacements`, batched per tick) to
//! the players of the zone, on every gateway instance ([`crate::diffusion`]). A refused step
//! is counted (`mmo_deplacements_refuses_total`, by reason) and logged with its account; an
//! account that keeps being refused is logged as a security event.

use commands::ErreurApplication;
use commands::services::monde::{Emplacement, FENETRE_REFUS, SEUIL_REFUS};
use domain::ids::JoueurId;
use domain::monde::ErreurMonde;
use domain::valeurs::{CodeZone, Position};
use serde::Deserialize;
use serde_json::{Value, json};

use super::appelant::Appelant;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, en_json};

/// How far `monde.proches` looks by default, in metres.
const RAYON_PAR_DEFAUT: f64 = 30.0;
/// How far it may look.
const RAYON_MAX: f64 = 500.0;

/// `monde.zone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    joueur_id: JoueurId,
}

/// The character's zone (code, size, portals), its position and who is present. Counts as a
/// sign of life; places a character that has no position yet at the start.
pub async fn zone(passerelle: &Passerelle, a: Appelant, p: Zone) -> Result<Value, ErreurRpc> {
    let vue = passerelle.monde.vue_zone(a.compte_id, p.joueur_id).await?;
    present_ici(passerelle, a, p.joueur_id, &vue.emplacement.zone);
    let code = &vue.emplacement.zone;
    let def = passerelle
        .monde
        .catalogue()
        .zone(code)
        .ok_or_else(|| ErreurRpc::introuvable("zone", &code.as_str()))?;
    let portails: Vec<Value> = def
        .portails
        .iter()
        .map(|p| json!({ "vers": p.vers, "position": p.position, "niveau_min": p.niveau_min }))
        .collect();
    Ok(json!({
        "zone": {
            "code": code,
            "nom": def.nom,
            "largeur": def.largeur,
            "hauteur": def.hauteur,
            "donjon": def.donjon,
            "portails": portails,
        },
        "position": vue.emplacement.position,
        "presents": en_json(&vue.presents)?,
    }))
}

/// `monde.deplacer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deplacer {
    joueur_id: JoueurId,
    x: f64,
    y: f64,
}

/// Moves the character inside its zone. A refused step carries where the character stands.
pub async fn deplacer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Deplacer,
) -> Result<Value, ErreurRpc> {
    let vers = Position::parse(p.x, p.y).map_err(|e| ErreurRpc::parametres(&e))?;
    let emplacement = match passerelle
        .monde
        .deplacer(a.compte_id, p.joueur_id, vers)
        .await
    {
        Ok(e) => e,
        Err(e) => {
            if let ErreurApplication::PasRefuse { refus, .. } = &e {
                surveiller_refus(passerelle, a, p.joueur_id, refus).await;
            }
            return Err(e.into());
        }
    };
    present_ici(passerelle, a, p.joueur_id, &emplacement.zone);
    annoncer(passerelle, p.joueur_id, &emplacement, &emplacement.zone).await;
    en_json(&emplacement)
}

/// A refused step: counted by reason, logged with its account (the span carries it), and,
/// at the [`SEUIL_REFUS`]th refusal of the account within [`FENETRE_REFUS`] (all instances
/// together), logged once as a security event. Per account is a log, not a metric label: one
/// series per account would grow without bound.
async fn surveiller_refus(
    passerelle: &Passerelle,
    a: Appelant,
    joueur_id: JoueurId,
    refus: &ErreurMonde,
) {
    let raison: &'static str = refus.into();
    passerelle.metriques.deplacement_refuse(raison);
    tracing::info!(
        target: "securite",
        compte_id = %a.compte_id,
        %joueur_id,
        raison,
        detail = %refus,
        "pas refusé"
    );
    match passerelle.monde.compter_refus(a.compte_id).await {
        Ok(n) if n == SEUIL_REFUS => {
            passerelle.metriques.refus_soutenus();
            tracing::warn!(
                target: "securite",
                compte_id = %a.compte_id,
                %joueur_id,
                refus = n,
                fenetre_s = FENETRE_REFUS.as_secs(),
                "pas refusés en série : client tricheur ou défaillant"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(erreur = %e, "compte des pas refusés"),
    }
}

/// `monde.changer_zone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangerZone {
    joueur_id: JoueurId,
    vers: CodeZone,
}

/// Takes a portal. Both zones hear of it: the old one sees the character now elsewhere.
pub async fn changer_zone(
    passerelle: &Passerelle,
    a: Appelant,
    p: ChangerZone,
) -> Result<Value, ErreurRpc> {
    // Ownership first: where a stranger's character stands is not the caller's to read.
    passerelle
        .monde
        .verifier_proprietaire(a.compte_id, p.joueur_id)
        .await?;
    let depuis = passerelle.monde.emplacement(p.joueur_id).await?;
    let arrivee = passerelle
        .monde
        .changer_zone(a.compte_id, p.joueur_id, p.vers)
        .await?;
    present_ici(passerelle, a, p.joueur_id, &arrivee.zone);
    if let Some(depuis) = depuis.filter(|d| d.zone != arrivee.zone) {
        annoncer(passerelle, p.joueur_id, &arrivee, &depuis.zone).await;
    }
    annoncer(passerelle, p.joueur_id, &arrivee, &arrivee.zone).await;
    en_json(&arrivee)
}

/// `monde.placer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placer {
    joueur_id: JoueurId,
    zone: CodeZone,
    x: f64,
    y: f64,
}

/// Puts any character anywhere (admins; the tests' way to stand a character where they need
/// it). Both zones hear of it, like a zone change.
pub async fn placer(passerelle: &Passerelle, p: Placer) -> Result<Value, ErreurRpc> {
    let position = Position::parse(p.x, p.y).map_err(|e| ErreurRpc::parametres(&e))?;
    let depuis = passerelle.monde.emplacement(p.joueur_id).await?;
    let ou = Emplacement {
        zone: p.zone,
        position,
    };
    let arrivee = passerelle.monde.placer(p.joueur_id, ou).await?;
    // The owner's sockets on this instance now follow the new zone; on other instances, the
    // owner's next `monde.zone` does it.
    if let Some((compte, _)) = passerelle.monde.proprietaire(p.joueur_id).await?
        && passerelle.sockets.connecte(compte.uuid())
    {
        passerelle
            .presences
            .entrer(p.joueur_id, arrivee.zone.clone(), compte);
    }
    if let Some(depuis) = depuis.filter(|d| d.zone != arrivee.zone) {
        annoncer(passerelle, p.joueur_id, &arrivee, &depuis.zone).await;
    }
    annoncer(passerelle, p.joueur_id, &arrivee, &arrivee.zone).await;
    en_json(&arrivee)
}

/// `monde.proches`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proches {
    joueur_id: JoueurId,
    /// Metres, default 30, at most 500.
    rayon: Option<f64>,
}

/// The characters present near the caller's, nearest first.
pub async fn proches(passerelle: &Passerelle, a: Appelant, p: Proches) -> Result<Value, ErreurRpc> {
    let rayon = p.rayon.unwrap_or(RAYON_PAR_DEFAUT);
    if !(rayon > 0.0 && rayon <= RAYON_MAX) {
        return Err(ErreurRpc::parametres(&format!(
            "`rayon` va de 0 (exclu) à {RAYON_MAX} m"
        )));
    }
    let proches = passerelle
        .monde
        .proches(a.compte_id, p.joueur_id, rayon)
        .await?;
    Ok(json!({ "proches": en_json(&proches)? }))
}

/// Indexes the character in its zone on this instance, if its player has a socket here
/// (pushes only reach sockets).
fn present_ici(passerelle: &Passerelle, a: Appelant, joueur_id: JoueurId, zone: &CodeZone) {
    if passerelle.sockets.connecte(a.compte_id.uuid()) {
        passerelle
            .presences
            .entrer(joueur_id, zone.clone(), a.compte_id);
    }
}

/// Tells the players of `zone` where the character now stands, in the next tick's
/// `monde.deplacements`.
async fn annoncer(passerelle: &Passerelle, joueur_id: JoueurId, ou: &Emplacement, zone: &CodeZone) {
    let nom = match passerelle.monde.proprietaire(joueur_id).await {
        Ok(p) => p.map(|(_, nom)| nom).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(erreur = %e, "nom du personnage pour la diffusion");
            String::new()
        }
    };
    let entree = json!({
        "joueur_id": joueur_id,
        "nom": nom,
        "zone": ou.zone,
        "position": ou.position,
    });
    passerelle.deplacements.noter(zone, joueur_id, entree);
}
