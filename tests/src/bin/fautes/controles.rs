//! What must hold after each fault, read in the store, the read models and through the
//! server: every acknowledged command applied exactly once, no command applied twice, the
//! process managers caught up, every read model equal to a rebuild, the economy conserved,
//! the caches equal to the rows.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use magasin::suivi::retard;
use projections::Projection;
use projections::verification::{desequilibres, instantane};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::activite::{Acteur, ECRITURES, Entree, Issue, Journal, Passerelles, envoyer};
use crate::serveur::Outil;

/// Waits until `condition` holds, polling; returns how long it took.
async fn attendre<F, Fut>(
    quoi: &str,
    patience: Duration,
    mut condition: F,
) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let debut = Instant::now();
    loop {
        // A fault may still be passing: an error reading counts as "not yet".
        if matches!(condition().await, Ok(true)) {
            return Ok(debut.elapsed());
        }
        if debut.elapsed() > patience {
            bail!("{quoi} : toujours pas après {patience:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every projection has applied every event of the store; how long that took.
pub(crate) async fn projections_a_jour(pool: &PgPool) -> anyhow::Result<Duration> {
    attendre("projections à jour", Duration::from_secs(90), || async {
        for p in Projection::TOUTES {
            if retard(pool, p.nom()).await?.evenements > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
}

/// The process managers caught up: every character created has its inventory opened
/// (the `JoueurCree` reaction, carried by NATS). Returns how long that took.
pub(crate) async fn reactions_a_jour(pool: &PgPool) -> anyhow::Result<Duration> {
    attendre(
        "inventaire ouvert pour chaque personnage",
        Duration::from_secs(90),
        || async {
            let (manquants,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM events j WHERE j.aggregate_type = 'Joueur' AND j.sequence = 1 \
             AND NOT EXISTS (SELECT 1 FROM events i WHERE i.aggregate_type = 'Inventaire' \
                             AND i.aggregate_id = j.aggregate_id)",
        )
        .fetch_one(pool)
        .await?;
            Ok(manquants == 0)
        },
    )
    .await
}

/// What the store says of the load's commands.
#[derive(Debug, Default)]
pub(crate) struct Bilan {
    pub(crate) acquittees: usize,
    pub(crate) refusees: BTreeMap<String, usize>,
    pub(crate) abandonnees: usize,
    pub(crate) renvois: BTreeMap<String, u64>,
    pub(crate) jumeaux: usize,
    /// Twin pairs where one send got a result and the other a refusal (doc/fiabilite.md
    /// promises the same answer; issue 22 item 4 decides whether it must): counted, not
    /// failed. The store is checked against the result.
    pub(crate) jumeaux_succes_et_refus: usize,
    /// Twin pairs refused with two different codes (a concurrent command changed the state
    /// between them): counted, not failed; the store must hold nothing for them.
    pub(crate) jumeaux_refus_differents: usize,
}

/// Every acknowledged write is in the store, from exactly one transaction, with the very
/// events its answer gave; a refused command wrote nothing; no command id (the client's, a
/// step's or a reaction's) was applied by two transactions; twin sends of one id that both
/// got a result got the same one.
pub(crate) async fn exactement_une_fois(pool: &PgPool, journal: &Journal) -> anyhow::Result<Bilan> {
    let mut bilan = Bilan::default();
    let mut ecrites = Vec::new();
    let mut refusees = Vec::new();
    let mut reponses = BTreeMap::new();
    let mut erreurs = Vec::new();
    for Entree {
        id_commande,
        methode,
        issue,
        renvois,
        ..
    } in &journal.entrees
    {
        for motif in renvois {
            *bilan.renvois.entry(motif.clone()).or_default() += 1;
        }
        match issue {
            Issue::Acquittee(reponse) => {
                bilan.acquittees += 1;
                if ECRITURES.contains(methode) {
                    ecrites.push(*id_commande);
                    if let Some(evenements) = reponse["evenements"].as_array() {
                        reponses.insert(*id_commande, evenements.clone());
                    }
                }
            }
            Issue::Refusee(code) => {
                *bilan.refusees.entry(code.clone()).or_default() += 1;
                if ECRITURES.contains(methode) {
                    refusees.push(*id_commande);
                }
            }
            Issue::Abandonnee => bilan.abandonnees += 1,
            Issue::Erreur(erreur) => erreurs.push(format!("{methode} {id_commande} : {erreur}")),
        }
    }
    for (id, a, b) in &journal.jumeaux {
        for issue in [a, b] {
            if let Issue::Erreur(erreur) = issue {
                erreurs.push(format!("jumeau {id} : {erreur}"));
            }
        }
    }
    // An engine away answers INDISPONIBLE, which the client retries; an internal error is a
    // hole the load must not lean on.
    ensure!(
        erreurs.is_empty(),
        "{} réponses en erreur (ERREUR_INTERNE ou HTTP), dont {:?}",
        erreurs.len(),
        erreurs.iter().take(5).collect::<Vec<_>>()
    );
    // A request's events carry its id, or, for its steps, name it as their cause.
    let absentes: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT x FROM unnest($1::uuid[]) AS x \
         WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id_commande = x) \
           AND NOT EXISTS (SELECT 1 FROM events e WHERE e.causation_id = x)",
    )
    .bind(&ecrites)
    .fetch_all(pool)
    .await?;
    ensure!(
        absentes.is_empty(),
        "{} commandes acquittées absentes du magasin, dont {:?}",
        absentes.len(),
        absentes.first()
    );
    let doubles: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT id_commande, count(DISTINCT transaction_id) FROM events \
         GROUP BY id_commande HAVING count(DISTINCT transaction_id) > 1",
    )
    .fetch_all(pool)
    .await?;
    ensure!(
        doubles.is_empty(),
        "commandes appliquées deux fois : {doubles:?}"
    );
    reponses_egales_au_magasin(pool, &reponses).await?;
    refus_sans_ecriture(pool, &refusees).await?;
    bilan.jumeaux = journal.jumeaux.len();
    let mut differents = Vec::new();
    for (id, a, b) in &journal.jumeaux {
        match (a, b) {
            (Issue::Acquittee(ra), Issue::Acquittee(rb)) if ra != rb => differents.push((id, a, b)),
            (Issue::Acquittee(_), Issue::Refusee(_)) | (Issue::Refusee(_), Issue::Acquittee(_)) => {
                bilan.jumeaux_succes_et_refus += 1;
            }
            (Issue::Refusee(ca), Issue::Refusee(cb)) if ca != cb => {
                bilan.jumeaux_refus_differents += 1;
            }
            _ => {}
        }
    }
    ensure!(
        differents.is_empty(),
        "deux envois d'un même id ont reçu des résultats différents : {differents:?}"
    );
    Ok(bilan)
}

/// The answers' events are the store's: a replay answered from another application, or a
/// command applied again under an id of its own, shows here (the store's trigger, which keeps
/// an id to one transaction, cannot see it).
async fn reponses_egales_au_magasin(
    pool: &PgPool,
    reponses: &BTreeMap<Uuid, Vec<Value>>,
) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = reponses.keys().copied().collect();
    let stockes: Vec<(Uuid, String, Value)> = sqlx::query_as(
        "SELECT id_commande, event_type, payload FROM events WHERE id_commande = ANY($1) \
         ORDER BY id_commande, aggregate_type, aggregate_id, sequence",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut dans_le_magasin: BTreeMap<Uuid, Vec<Value>> = BTreeMap::new();
    for (id, genre, charge) in stockes {
        // The store keeps the event as serde writes the enum; an answer as `{type, donnees}`.
        let donnees = match charge {
            Value::Object(mut m) => m.remove(&genre).unwrap_or_else(|| json!({})),
            _ => json!({}),
        };
        dans_le_magasin
            .entry(id)
            .or_default()
            .push(json!({"type": genre, "donnees": donnees}));
    }
    for (id, repondus) in reponses {
        let stockes = dans_le_magasin.get(id).map_or(&[][..], Vec::as_slice);
        ensure!(
            repondus.as_slice() == stockes,
            "la commande {id} a répondu {repondus:?}, le magasin tient {stockes:?}"
        );
    }
    Ok(())
}

/// A refusal writes nothing (doc/protocole.md §5.1), neither under its id nor as a step of it.
async fn refus_sans_ecriture(pool: &PgPool, refusees: &[Uuid]) -> anyhow::Result<()> {
    sans_ecriture(pool, refusees, "commandes refusées").await
}

/// None of `ids` wrote to the store, neither under its id nor as a step of it; `quoi` names
/// them in the error.
pub(crate) async fn sans_ecriture(pool: &PgPool, ids: &[Uuid], quoi: &str) -> anyhow::Result<()> {
    let ecrites: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT x FROM unnest($1::uuid[]) AS x \
         WHERE EXISTS (SELECT 1 FROM events e WHERE e.id_commande = x OR e.causation_id = x)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    ensure!(
        ecrites.is_empty(),
        "{} {quoi} ont écrit dans le magasin, dont {:?}",
        ecrites.len(),
        ecrites.first()
    );
    Ok(())
}

/// Every read model equals its rebuild from the store (`mmo projections rebuild all`), and
/// the economy balances: created − destroyed = held, for gold and each item.
pub(crate) async fn modeles_egaux_a_la_reconstruction(
    pool: &PgPool,
    serveur: &impl Outil,
) -> anyhow::Result<()> {
    let desequilibre = desequilibres(pool).await?;
    ensure!(
        desequilibre.is_empty(),
        "économie non conservée : {desequilibre:?}"
    );
    let vivant = instantane(pool).await?;
    serveur.outil(&["projections", "rebuild", "all"])?;
    let reconstruit = instantane(pool).await?;
    for (table, lignes) in &vivant {
        let autres = &reconstruit[table];
        if lignes != autres {
            let premiere = lignes.iter().zip(autres).find(|(a, b)| a != b).map_or_else(
                || format!("{} lignes contre {}", lignes.len(), autres.len()),
                |(a, b)| format!("{a}\n  contre\n{b}"),
            );
            bail!("le modèle {table} diffère de sa reconstruction : {premiere}");
        }
    }
    Ok(())
}

/// What `inventaire.consulter` answers (through the Redis cache) equals the read model's
/// row, for every character of the load.
pub(crate) async fn caches_egaux_aux_lignes(
    pool: &PgPool,
    http: &reqwest::Client,
    passerelles: &Passerelles,
    acteurs: &[Acteur],
) -> anyhow::Result<()> {
    for a in acteurs {
        let (issue, _) = envoyer(
            http,
            passerelles,
            &a.jeton,
            "inventaire.consulter",
            json!({"joueur_id": a.joueur_id}),
        )
        .await;
        let Issue::Acquittee(vu) = issue else {
            bail!("inventaire.consulter de {} : {issue:?}", a.joueur_id);
        };
        let (or_total,): (i64,) =
            sqlx::query_as("SELECT or_total FROM lecture.inventaires WHERE joueur_id = $1")
                .bind(a.joueur_id)
                .fetch_one(pool)
                .await
                .context("ligne d'inventaire")?;
        let items: Vec<(String, i64)> = sqlx::query_as(
            "SELECT item, quantite::bigint FROM lecture.inventaire_items WHERE joueur_id = $1 AND quantite > 0",
        )
        .bind(a.joueur_id)
        .fetch_all(pool)
        .await?;
        let items: BTreeMap<String, Value> =
            items.into_iter().map(|(i, q)| (i, json!(q))).collect();
        ensure!(
            vu["or_total"] == json!(or_total) && vu["items"] == json!(items),
            "inventaire de {} : le serveur répond {vu}, le modèle tient {or_total} po et {items:?}",
            a.joueur_id
        );
    }
    Ok(())
}

/// The economy's books agree with what the clients were told: for each item and cause, the
/// quantity the totals say was created or destroyed lies between what the acknowledged
/// commands moved and that plus what the abandoned ones would have (a command without an
/// answer applied at most once). Trades create and destroy nothing; a starting kit destroys
/// nothing, a destruction creates nothing; no gold and no item is held below zero.
pub(crate) async fn livres_conformes(pool: &PgPool, journal: &Journal) -> anyhow::Result<()> {
    // (resource, cause, created?) -> (acknowledged, abandoned)
    let mut attendu: BTreeMap<(String, &str, bool), (i64, i64)> = BTreeMap::new();
    for e in &journal.entrees {
        let item = e.params["item"].as_str().unwrap_or_default().to_owned();
        let q = e.params["quantite"].as_i64().unwrap_or(0);
        let mouvements = match e.methode {
            "inventaire.acheter" => vec![(item, "achat", true, q)],
            "inventaire.vendre" => vec![(item, "vente", false, q)],
            "inventaire.jeter" => vec![(item, "destruction", false, q)],
            // The one recipe the load crafts: two ore, one ingot.
            "inventaire.fabriquer" => vec![
                ("lingot_de_fer".to_owned(), "fabrication", true, 1),
                ("minerai_de_fer".to_owned(), "fabrication", false, 2),
            ],
            _ => vec![],
        };
        for (ressource, cause, cree, n) in mouvements {
            let compte = attendu.entry((ressource, cause, cree)).or_default();
            match e.issue {
                Issue::Acquittee(_) => compte.0 += n,
                Issue::Abandonnee | Issue::Erreur(_) => compte.1 += n,
                Issue::Refusee(_) => {}
            }
        }
    }
    let totaux: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT ressource, cause, cree, detruit FROM lecture.economie_totaux")
            .fetch_all(pool)
            .await?;
    for (ressource, cause, cree, detruit) in &totaux {
        match cause.as_str() {
            "echange" => ensure!(
                cree == detruit,
                "l'échange a créé {cree} et détruit {detruit} de {ressource}"
            ),
            "kit_de_depart" => ensure!(
                *detruit == 0,
                "le kit de départ a détruit {detruit} de {ressource}"
            ),
            "destruction" => ensure!(*cree == 0, "une destruction a créé {cree} de {ressource}"),
            _ => {}
        }
    }
    for ((ressource, cause, cree), (acquitte, abandonne)) in &attendu {
        let livre = totaux
            .iter()
            .find(|(r, c, _, _)| r == ressource && c == cause)
            .map_or(0, |(_, _, c, d)| if *cree { *c } else { *d });
        ensure!(
            (*acquitte..=acquitte + abandonne).contains(&livre),
            "{ressource} ({cause}) : les livres disent {livre}, les réponses {acquitte} (+{abandonne} sans réponse)"
        );
    }
    let (negatifs,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM lecture.inventaires WHERE or_total < 0")
            .fetch_one(pool)
            .await?;
    ensure!(negatifs == 0, "{negatifs} inventaires sous zéro pièce d'or");
    Ok(())
}
