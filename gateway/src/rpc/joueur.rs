//! Service Joueur: `joueur.creer|lister|profil` and `classement.consulter`.

use domain::ids::JoueurId;
use domain::valeurs::{Classe, NomJoueur};
use projections::requetes::joueurs;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use projections::Projection;

use super::appelant::Appelant;
use super::coherence::{a_jour, commande};
use crate::passerelle::Passerelle;
use crate::protocole::{Curseur, ErreurRpc};

/// `joueur.creer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Creer {
    nom: NomJoueur,
    classe: Classe,
    id_commande: Option<Uuid>,
}

/// `joueur.creer`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JoueurCree {
    /// The new character.
    pub joueur_id: JoueurId,
    /// Where the last event the command wrote stands in the global order (its first
    /// application's, for a replay): a read given it as `a_jour_de` reflects the command.
    pub curseur: Option<Curseur>,
}

/// Creates a character of the caller's account.
pub async fn creer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Creer,
) -> Result<JoueurCree, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (joueur_id, curseur) = commande(commands::services::joueur::creer_personnage(
        &passerelle.depot,
        a.compte_id,
        p.nom,
        p.classe,
        &meta,
    ))
    .await?;
    Ok(JoueurCree { joueur_id, curseur })
}

/// No params.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Aucun {}

/// No params but the freshness a read may ask for: `joueur.lister`, `economie.totaux`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AJourDe {
    /// A cursor the answer must reflect (a command's `curseur`): the read waits, bounded,
    /// until the read models have passed it (`LECTURE_EN_RETARD` past the bound).
    #[serde(default)]
    a_jour_de: Option<Curseur>,
}

impl AJourDe {
    /// The cursor the answer must reflect, if any.
    pub fn curseur(&self) -> Option<Curseur> {
        self.a_jour_de
    }
}

/// `joueur.lister`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Personnages {
    /// In creation order.
    pub personnages: Vec<joueurs::Personnage>,
}

/// The caller's characters, in creation order.
pub async fn lister(
    passerelle: &Passerelle,
    a: Appelant,
    p: AJourDe,
) -> Result<Personnages, ErreurRpc> {
    a_jour(passerelle, &[Projection::Joueurs], p.a_jour_de).await?;
    let personnages = joueurs::personnages_du_compte(&passerelle.pool, a.compte_id).await?;
    Ok(Personnages { personnages })
}

/// `joueur.profil`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profil {
    joueur_id: JoueurId,
    /// A cursor the answer must reflect (a command's `curseur`): the read waits, bounded,
    /// until the read models have passed it (`LECTURE_EN_RETARD` past the bound).
    #[serde(default)]
    a_jour_de: Option<Curseur>,
}

/// Any character's public profile (cache, else read model; the read model when it must
/// reflect a cursor).
pub async fn profil(passerelle: &Passerelle, p: Profil) -> Result<joueurs::Profil, ErreurRpc> {
    let (pool, cache, id) = (&passerelle.pool, &passerelle.cache, p.joueur_id.uuid());
    let profil = if a_jour(passerelle, &[Projection::Joueurs], p.a_jour_de).await? {
        projections::cache::relire_profil(pool, cache, id).await?
    } else {
        projections::cache::profil(pool, cache, id).await?
    };
    profil.ok_or_else(|| ErreurRpc::introuvable("personnage", &p.joueur_id))
}

/// `classement.consulter`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Classement {
    /// 1 to 100 (default 20).
    #[serde(default = "vingt")]
    #[schemars(range(min = 1, max = 100))]
    limite: u32,
    /// Rank to start after (default 0: the top).
    #[serde(default)]
    depuis: u32,
    /// Only this class.
    classe: Option<Classe>,
    /// A cursor the answer must reflect (a command's `curseur`): the read waits, bounded,
    /// until the read models have passed it (`LECTURE_EN_RETARD` past the bound).
    #[serde(default)]
    a_jour_de: Option<Curseur>,
}

fn vingt() -> u32 {
    20
}

/// `classement.consulter`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageClassement {
    /// By level, then XP, then name.
    pub classement: Vec<joueurs::LigneClassement>,
}

/// The leaderboard: level, then XP, then name.
pub async fn classement(
    passerelle: &Passerelle,
    p: Classement,
) -> Result<PageClassement, ErreurRpc> {
    if !(1..=100).contains(&p.limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 100"));
    }
    a_jour(passerelle, &[Projection::Joueurs], p.a_jour_de).await?;
    let lignes = joueurs::classement(&passerelle.pool, p.classe, p.limite, p.depuis).await?;
    Ok(PageClassement { classement: lignes })
}
