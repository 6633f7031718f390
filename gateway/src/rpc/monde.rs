//! Service Monde: `monde.zone|deplacer|changer_zone|proches`, and `monde.placer` for admins.
//! A move, a zone change or a placement is pushed (`monde.deplacements`, batched per tick and
//! cell) to the players who see its cell, on every gateway instance ([`crate::diffusion`]); a
//! change of cell tells the character who entered and left its area (`monde.apparitions`,
//! `monde.disparitions`), and its neighbours that it did. A refused step is counted
//! (`mmo_deplacements_refuses_total`, by reason) and logged with its account; an account that
//! keeps being refused is logged as a security event.

use commands::ErreurApplication;
use commands::services::chat::Destinataires;
use commands::services::monde::{
    ChangementCellule, Emplacement, FENETRE_REFUS, Proche, SEUIL_REFUS, Visible,
};
use domain::ids::{CompteId, JoueurId};
use domain::interet::Cellule;
use domain::monde::ErreurMonde;
use domain::valeurs::{CodeZone, Niveau, Position};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::appelant::Appelant;
use crate::diffusion::{self, Diffusion};
use crate::passerelle::Passerelle;
use crate::protocole::monde::{Apercu, Apparitions, Disparitions};
use crate::protocole::{ErreurRpc, en_json};

/// How far `monde.proches` looks by default, in metres.
const RAYON_PAR_DEFAUT: f64 = 30.0;
/// How far it may look.
const RAYON_MAX: f64 = 500.0;

/// `monde.zone`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    joueur_id: JoueurId,
}

/// `monde.zone`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VueDeZone {
    /// The zone's description.
    pub zone: DescriptionZone,
    /// Where the character stands.
    pub position: Position,
    /// Who is present in its interest area, the character included, nearest first.
    pub presents: Vec<Visible>,
    /// How many characters are present in the whole zone.
    pub effectif: u64,
    /// The side of an interest cell, in metres.
    pub cellule_interet: f64,
}

/// A zone as `monde.zone` describes it (the catalog's, without where portals lead to).
#[derive(Debug, Serialize, JsonSchema)]
pub struct DescriptionZone {
    /// Its code.
    pub code: CodeZone,
    /// Its name.
    pub nom: String,
    /// Metres, from 0.
    pub largeur: f64,
    /// Metres, from 0.
    pub hauteur: f64,
    /// A dungeon.
    pub donjon: bool,
    /// Where a character stands when it first enters the world here (the catalog's start).
    pub depart: Position,
    /// Its portals.
    pub portails: Vec<PortailVu>,
}

/// A portal of the zone.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PortailVu {
    /// The zone it leads to.
    pub vers: CodeZone,
    /// Where it stands.
    pub position: Position,
    /// The level it asks for.
    pub niveau_min: Niveau,
}

/// The character's zone (code, size, portals), its position and who is present. Counts as a
/// sign of life; places a character that has no position yet at the start.
pub async fn zone(passerelle: &Passerelle, a: Appelant, p: Zone) -> Result<VueDeZone, ErreurRpc> {
    let vue = passerelle.monde.vue_zone(a.compte_id, p.joueur_id).await?;
    present_ici(passerelle, a.compte_id, p.joueur_id, &vue.emplacement);
    if let ChangementCellule::Depuis(_) = vue.changement {
        // Its neighbours see it arrive; its own picture is this answer.
        annoncer(
            passerelle,
            p.joueur_id,
            &vue.emplacement,
            vue.changement.clone(),
        )
        .await;
    }
    let code = &vue.emplacement.zone;
    let def = passerelle
        .monde
        .catalogue()
        .zone(code)
        .ok_or_else(|| ErreurRpc::introuvable("zone", &code.as_str()))?;
    let portails = def
        .portails
        .iter()
        .map(|p| PortailVu {
            vers: p.vers.clone(),
            position: p.position,
            niveau_min: p.niveau_min,
        })
        .collect();
    Ok(VueDeZone {
        zone: DescriptionZone {
            code: code.clone(),
            nom: def.nom.clone(),
            largeur: def.largeur,
            hauteur: def.hauteur,
            donjon: def.donjon,
            depart: def.depart,
            portails,
        },
        position: vue.emplacement.position,
        presents: vue.presents,
        effectif: vue.effectif,
        cellule_interet: passerelle.monde.taille_cellule(),
    })
}

/// `monde.deplacer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
) -> Result<Emplacement, ErreurRpc> {
    let vers = Position::parse(p.x, p.y).map_err(|e| ErreurRpc::parametres(&e))?;
    let pas = match passerelle
        .monde
        .deplacer(a.compte_id, p.joueur_id, vers)
        .await
    {
        Ok(pas) => pas,
        Err(e) => {
            if let ErreurApplication::PasRefuse { refus, .. } = &e {
                surveiller_refus(passerelle, a, p.joueur_id, refus).await;
            }
            return Err(e.into());
        }
    };
    suivre(
        passerelle,
        a.compte_id,
        p.joueur_id,
        &pas.emplacement,
        pas.changement,
    )
    .await;
    Ok(pas.emplacement)
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
) -> Result<Emplacement, ErreurRpc> {
    // Ownership first: where a stranger's character stands is not the caller's to read.
    passerelle
        .monde
        .verifier_proprietaire(a.compte_id, p.joueur_id)
        .await?;
    let arrivee = passerelle
        .monde
        .changer_zone(a.compte_id, p.joueur_id, p.vers)
        .await?;
    noter_et_suivre(passerelle, a.compte_id, p.joueur_id, &arrivee).await;
    Ok(arrivee)
}

/// `monde.placer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Placer {
    joueur_id: JoueurId,
    zone: CodeZone,
    x: f64,
    y: f64,
}

/// Puts any character anywhere (admins; the tests' way to stand a character where they need
/// it). Both zones hear of it, like a zone change.
pub async fn placer(passerelle: &Passerelle, p: Placer) -> Result<Emplacement, ErreurRpc> {
    let position = Position::parse(p.x, p.y).map_err(|e| ErreurRpc::parametres(&e))?;
    placer_en(passerelle, p.joueur_id, p.zone, position).await
}

/// Puts a character at `position` in `zone`, as `monde.placer` and `mj.deplacer` do.
pub async fn placer_en(
    passerelle: &Passerelle,
    joueur_id: JoueurId,
    zone: CodeZone,
    position: Position,
) -> Result<Emplacement, ErreurRpc> {
    let ou = Emplacement { zone, position };
    let arrivee = passerelle.monde.placer(joueur_id, ou).await?;
    // Like a zone change of the owner's: its area and its neighbours hear of it (on other
    // instances, the owner's sockets follow at its next `monde.zone`).
    if let Some((compte, _)) = passerelle.monde.proprietaire(joueur_id).await? {
        noter_et_suivre(passerelle, compte, joueur_id, &arrivee).await;
    }
    Ok(arrivee)
}

/// `monde.proches`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proches {
    joueur_id: JoueurId,
    /// Metres, default 30, at most 500.
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = RAYON_MAX))]
    rayon: Option<f64>,
}

/// `monde.proches`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListeProches {
    /// Nearest first, the caller's character left out.
    pub proches: Vec<Proche>,
}

/// The characters present near the caller's, nearest first.
pub async fn proches(
    passerelle: &Passerelle,
    a: Appelant,
    p: Proches,
) -> Result<ListeProches, ErreurRpc> {
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
    Ok(ListeProches { proches })
}

/// After a zone change or a placement: notes the character's interest cell (a step notes
/// its own), then [`suivre`].
async fn noter_et_suivre(
    passerelle: &Passerelle,
    compte: CompteId,
    joueur_id: JoueurId,
    ici: &Emplacement,
) {
    let changement = match passerelle.monde.noter_cellule(joueur_id, ici).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(erreur = %e, "case d'intérêt non notée");
            ChangementCellule::Aucun
        }
    };
    suivre(passerelle, compte, joueur_id, ici, changement).await;
}

/// After a move, a zone change or a placement whose cell is noted: if it changed cell, tells
/// the character who entered and left its area, and its neighbours (next tick) that it
/// entered or left theirs; indexes it here; notes its move for the next tick.
async fn suivre(
    passerelle: &Passerelle,
    compte: CompteId,
    joueur_id: JoueurId,
    ici: &Emplacement,
    changement: ChangementCellule,
) {
    present_ici(passerelle, compte, joueur_id, ici);
    if let ChangementCellule::Depuis(depuis) = &changement
        && let Err(e) = montrer_aire(passerelle, compte, joueur_id, ici, depuis.clone()).await
    {
        tracing::warn!(erreur = ?e, "aire d'intérêt non envoyée");
    }
    annoncer(passerelle, joueur_id, ici, changement).await;
}

/// Tells the character who it now sees (`monde.apparitions`) and who it no longer sees
/// (`monde.disparitions`), read from Service Monde's cell index.
async fn montrer_aire(
    passerelle: &Passerelle,
    compte: CompteId,
    joueur_id: JoueurId,
    ici: &Emplacement,
    depuis: Option<(CodeZone, Cellule)>,
) -> Result<(), ErreurRpc> {
    let cellule = passerelle.monde.cellule(ici.position);
    let meme_zone = depuis
        .clone()
        .filter(|(z, _)| z == &ici.zone)
        .map(|(_, c)| c);
    let gagnees = cellule.gagnees(meme_zone);
    let apparitions: Vec<_> = passerelle
        .monde
        .visibles(&ici.zone, &gagnees)
        .await?
        .into_iter()
        .filter(|v| v.joueur_id != joueur_id)
        .collect();
    let disparitions: Vec<JoueurId> = match &depuis {
        Some((zone, avant)) => {
            let apres = (zone == &ici.zone).then_some(cellule);
            passerelle
                .monde
                .visibles(zone, &avant.perdues(apres))
                .await?
                .into_iter()
                .map(|v| v.joueur_id)
                .filter(|j| *j != joueur_id)
                .collect()
        }
        None => Vec::new(),
    };
    let destinataires = Destinataires::Comptes {
        comptes: vec![compte],
    };
    if let Some((zone, _)) = depuis.filter(|_| !disparitions.is_empty()) {
        let diffusion = Diffusion {
            destinataires: destinataires.clone(),
            methode: "monde.disparitions".into(),
            params: en_json(&Disparitions {
                joueur_id,
                zone,
                disparitions,
            })?,
            transitions: None,
        };
        diffusion::publier(&passerelle.bus, "diffusion.monde.aire", &diffusion).await;
    }
    if !apparitions.is_empty() {
        let diffusion = Diffusion {
            destinataires,
            methode: "monde.apparitions".into(),
            params: en_json(&Apparitions {
                joueur_id,
                zone: ici.zone.clone(),
                apparitions: apparitions.into_iter().map(Apercu::from).collect(),
            })?,
            transitions: None,
        };
        diffusion::publier(&passerelle.bus, "diffusion.monde.aire", &diffusion).await;
    }
    Ok(())
}

/// Indexes the character in its zone and cell on this instance, if its player has a socket
/// here (pushes only reach sockets).
fn present_ici(passerelle: &Passerelle, compte: CompteId, joueur_id: JoueurId, ici: &Emplacement) {
    if passerelle.sockets.connecte(compte.uuid()) {
        passerelle.presences.entrer(
            joueur_id,
            ici.zone.clone(),
            passerelle.monde.cellule(ici.position),
            compte,
        );
    }
}

/// Tells the players who see the character's cell where it now stands, in the next tick's
/// `monde.deplacements`; when it changed cell, the entry carries its class, for those it
/// appears to.
async fn annoncer(
    passerelle: &Passerelle,
    joueur_id: JoueurId,
    ou: &Emplacement,
    changement: ChangementCellule,
) {
    let nom = match passerelle.monde.proprietaire(joueur_id).await {
        Ok(p) => p.map(|(_, nom)| nom).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(erreur = %e, "nom du personnage pour la diffusion");
            String::new()
        }
    };
    let mut entree = Apercu {
        joueur_id,
        nom,
        zone: ou.zone.clone(),
        position: ou.position,
        classe: None,
    };
    if let ChangementCellule::Depuis(_) = changement {
        match passerelle.monde.classes(&[joueur_id]).await {
            Ok(mut c) => entree.classe = c.remove(&joueur_id),
            Err(e) => tracing::warn!(erreur = %e, "classe du personnage pour la diffusion"),
        }
    }
    let cellule = passerelle.monde.cellule(ou.position);
    passerelle
        .deplacements
        .noter(&ou.zone, cellule, joueur_id, entree, changement);
}
