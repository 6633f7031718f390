//! Tools of the `mmo` binary: migrating the database, rebuilding projections and reporting
//! their lag, reading every stored event again with the current code, checking a catalog file
//! and measuring the balance of its encounters.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use domain::Catalogue;
use domain::combat::Issue;
use domain::simulation::{ErreurSimulation, simuler};
use domain::valeurs::{Classe, Graine};

use crate::config::Connexions;
use crate::metriques::{self, Metriques};
use crate::{primaire, sante, serveur};

/// Loads and validates a catalog: the shipped one, or a file being edited.
pub fn charger_catalogue(fichier: Option<&Path>) -> anyhow::Result<Arc<Catalogue>> {
    match fichier {
        None => Ok(Catalogue::officiel()?),
        Some(chemin) => {
            let texte = std::fs::read_to_string(chemin)
                .map_err(|e| anyhow::anyhow!("lecture de {} impossible : {e}", chemin.display()))?;
            Catalogue::depuis_toml(&texte)
                .map(Arc::new)
                .map_err(|e| anyhow::anyhow!("{} : {e}", chemin.display()))
        }
    }
}

/// A one-screen summary of a valid catalog.
pub fn resume(catalogue: &Catalogue) -> String {
    let r = catalogue.regles();
    let mut s = String::new();
    let _ = writeln!(s, "catalogue valide");
    let _ = writeln!(
        s,
        "  niveau max {}, groupe de {} au plus, {} emplacements d'inventaire, départ en {}",
        r.niveau_max, r.taille_groupe_max, r.capacite_inventaire, r.zone_depart
    );
    for classe in [Classe::Tank, Classe::Dps, Classe::Heal] {
        let st = catalogue.stats(classe, domain::valeurs::Niveau::UN);
        let _ = writeln!(
            s,
            "  {classe:<4} niveau 1 : {} PV, attaque {}, défense {}, soin {}",
            st.pv_max, st.attaque, st.defense, st.soin
        );
    }
    let _ = writeln!(
        s,
        "  {} zones, {} rencontres, {} monstres, {} items, {} recettes, {} marchands, {} quêtes",
        catalogue.zones().len(),
        catalogue.rencontres().len(),
        catalogue.monstres().len(),
        catalogue.items().len(),
        catalogue.recettes().len(),
        catalogue.marchands().len(),
        catalogue.quetes().len()
    );
    s
}

/// The parties the balance table measures.
pub const GROUPES: [(&str, &[Classe]); 4] = [
    ("Tank+DPS+Heal", &[Classe::Tank, Classe::Dps, Classe::Heal]),
    ("3 DPS", &[Classe::Dps, Classe::Dps, Classe::Dps]),
    ("Tank+Heal", &[Classe::Tank, Classe::Heal]),
    ("DPS seul", &[Classe::Dps]),
];

/// Win rates of each party against each encounter at the encounter's level, over `graines`
/// seeds, as a Markdown table.
pub async fn table_d_equilibrage(
    catalogue: &Arc<Catalogue>,
    graines: u64,
) -> Result<String, ErreurSimulation> {
    let mut s = String::from("| rencontre | niveau |");
    for (nom, _) in GROUPES {
        let _ = write!(s, " {nom} |");
    }
    s.push_str("\n|---|---|");
    s.push_str(&"---|".repeat(GROUPES.len()));
    s.push('\n');
    for (code, rencontre) in catalogue.rencontres() {
        let _ = write!(s, "| {code} | {} |", rencontre.niveau);
        for (_, groupe) in GROUPES {
            let mut victoires = 0u64;
            for graine in 0..graines {
                let bilan = simuler(
                    catalogue,
                    code,
                    groupe,
                    rencontre.niveau,
                    Graine::new(graine),
                )
                .await?;
                victoires += u64::from(bilan.issue == Issue::Victoire);
            }
            let _ = write!(
                s,
                " {:.1} % |",
                victoires as f64 * 100.0 / graines.max(1) as f64
            );
        }
        s.push('\n');
    }
    Ok(s)
}

/// Creates the game's database if it is missing and applies every pending migration; returns
/// how many are applied in all. With several servers in the URL, on the primary (waited for
/// 30 s: a failover may be under way).
pub async fn migrer(database_url: &str) -> anyhow::Result<usize> {
    use sqlx::migrate::MigrateDatabase as _;
    let serveurs = serveurs(database_url)?;
    let primaire = if serveurs.urls.len() > 1 {
        serveurs
            .attendre(std::time::Duration::from_secs(30))
            .await?
    } else {
        0
    };
    let url = &serveurs.urls[primaire];
    if !sqlx::Postgres::database_exists(url)
        .await
        .map_err(|e| injoignable(url, &e))?
    {
        sqlx::Postgres::create_database(url)
            .await
            .map_err(|e| injoignable(url, &e))?;
    }
    let pool = serveur::connecter_postgresql(&serveurs, 4).await?;
    magasin::MIGRATIONS
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("migration impossible : {e}"))?;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// A connection URL fit for an error message: the password, if any, is masked.
fn sans_mot_de_passe(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(debut), Some(arobase)) if url[debut + 3..arobase].contains(':') => {
            let utilisateur = &url[debut + 3..arobase]
                .split(':')
                .next()
                .unwrap_or_default();
            format!("{}{utilisateur}:***{}", &url[..debut + 3], &url[arobase..])
        }
        _ => url.to_owned(),
    }
}

/// The servers of the game's database URL (one, or several and the primary to follow).
fn serveurs(database_url: &str) -> anyhow::Result<primaire::Serveurs> {
    primaire::Serveurs::parse(database_url).map_err(|e| {
        anyhow::anyhow!(
            "URL PostgreSQL invalide ({}) : {e:#}",
            sans_mot_de_passe(database_url)
        )
    })
}

/// A pool on the game's database; an unreachable server is named, with how to start it.
pub async fn connecter(database_url: &str) -> anyhow::Result<sqlx::PgPool> {
    serveur::connecter_postgresql(&serveurs(database_url)?, 4).await
}

/// What `mmo worker` can run alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Partie {
    /// Every projection worker (each leads its projection if no other instance does).
    Projections,
    /// The relay from the store to NATS JetStream (leads if no other instance does).
    Relay,
    /// The process managers and the round scheduler (durable consumers: instances share the
    /// messages).
    Sagas,
}

/// Runs one part of the backend until Ctrl-C, with `/metrics` and `/healthz` on `metriques`.
pub async fn travailler(
    connexions: &Connexions,
    partie: Partie,
    metriques: SocketAddr,
) -> anyhow::Result<()> {
    let pool = serveur::connecter_postgresql(
        &serveurs(&connexions.database_url)?,
        connexions.pg_connexions,
    )
    .await?;
    let (arret, arret_rx) = tokio::sync::watch::channel(false);
    let mut rapports_bus = metriques::CompteursBus::default();
    let mut compteurs = Arc::default();
    // The process's one reading of the store, for the readers it runs.
    let lecteur = magasin::partage::LecteurPartage::new(pool.clone(), connexions.tampon_lecture);
    let (rapports, mut taches) = match partie {
        Partie::Projections => {
            let redis = serveur::connecter_redis(&connexions.redis_url).await?;
            let cache = projections::cache::Cache::new(redis)
                .avec_prefixe(connexions.prefixe_redis.clone());
            serveur::lancer_projections(&pool, &cache, &lecteur, &arret_rx)
        }
        Partie::Relay | Partie::Sagas => {
            let nats = serveur::connecter_nats(&connexions.nats_url).await?;
            let bus = commands::bus::Bus::new(nats, &connexions.prefixe_bus)
                .avec_repliques(usize::from(connexions.nats_repliques));
            let catalogue = Catalogue::officiel()?;
            let depot = Arc::new(
                commands::Depot::new(pool.clone(), catalogue.clone())
                    .avec_instantanes(connexions.instantane_tous_les)
                    .avec_ecriture(connexions.reglages_ecriture()),
            );
            compteurs = Arc::clone(depot.compteurs());
            let tache = if partie == Partie::Relay {
                let relais = commands::bus::relais::Relais::new(pool.clone(), bus)
                    .avec_lecteur(lecteur.clone());
                rapports_bus.relais = relais.rapport();
                tokio::spawn(relais.executer(arret_rx.clone()))
            } else {
                let redis = serveur::connecter_redis(&connexions.redis_url).await?;
                let monde = commands::services::monde::Monde::new(
                    pool.clone(),
                    redis,
                    &connexions.prefixe_redis,
                    catalogue,
                );
                let reactions = commands::bus::reactions::Reactions::new(depot, monde, bus);
                rapports_bus.reactions = reactions.rapport();
                tokio::spawn(reactions.executer(arret_rx.clone()))
            };
            (Vec::new(), vec![tache])
        }
    };
    if partie != Partie::Sagas {
        taches.push(lecteur.lancer(arret_rx.clone()));
    }
    let registre = Arc::new(Metriques::new(
        compteurs,
        Arc::clone(lecteur.compteurs()),
        rapports,
        Arc::default(),
        rapports_bus,
    ));
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(sante::vivant))
        .route(
            "/metrics",
            axum::routing::get(move |entetes: axum::http::HeaderMap| async move {
                sante::exposer(&registre, &entetes)
            }),
        );
    let ecoute = tokio::net::TcpListener::bind(metriques)
        .await
        .map_err(|e| anyhow::anyhow!("écoute impossible sur {metriques} : {e}"))?;
    println!("mmo worker {partie:?} : métriques sur http://{metriques}/metrics");
    let mut arret_http = arret_rx.clone();
    let http = tokio::spawn(async move {
        let _ = axum::serve(ecoute, app)
            .with_graceful_shutdown(async move {
                let _ = arret_http.wait_for(|a| *a).await;
            })
            .await;
    });
    tokio::signal::ctrl_c().await?;
    let _ = arret.send(true);
    for t in taches.into_iter().chain([http]) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
    }
    pool.close().await;
    Ok(())
}

/// Gives an account the admin role (or takes it back).
pub async fn promouvoir(pool: &sqlx::PgPool, login: &str, admin: bool) -> anyhow::Result<()> {
    let n = sqlx::query("UPDATE comptes SET admin = $2 WHERE lower(login) = lower($1)")
        .bind(login)
        .bind(admin)
        .execute(pool)
        .await?
        .rows_affected();
    anyhow::ensure!(n == 1, "aucun compte n'a le login « {login} »");
    Ok(())
}

fn injoignable(database_url: &str, e: &sqlx::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "PostgreSQL injoignable ({}) : {e}. Démarrez-le avec scripts/services.sh, ou donnez une \
         autre base avec --database-url / MMO_DATABASE_URL.",
        sans_mot_de_passe(database_url)
    )
}

/// Rebuilds one projection, or all of them, with a progress bar on the terminal.
pub async fn reconstruire(pool: &sqlx::PgPool, nom: &str) -> anyhow::Result<()> {
    use projections::Projection;
    let cibles: Vec<Projection> = if nom == "all" {
        Projection::TOUTES.to_vec()
    } else {
        vec![
            Projection::depuis_nom(nom)
                .ok_or_else(|| projections::ErreurProjection::Inconnue(nom.to_owned()))?,
        ]
    };
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:>12} [{bar:30}] {pos}/{len} événements, {per_sec}, reste {eta}",
    )?
    .progress_chars("=> ");
    for projection in cibles {
        let barre = indicatif::ProgressBar::new(0)
            .with_style(style.clone())
            .with_prefix(projection.nom());
        let debut = std::time::Instant::now();
        let rejoues = projections::reconstruction::reconstruire(
            pool,
            projection,
            projections::reconstruction::TAILLE_LOT,
            |a| {
                barre.set_length(a.total.max(a.rejoues));
                barre.set_position(a.rejoues);
            },
        )
        .await?;
        barre.finish_and_clear();
        let secondes = debut.elapsed().as_secs_f64();
        println!(
            "{} : {rejoues} événements rejoués en {secondes:.1} s ({:.0} événements/s)",
            projection.nom(),
            rejoues as f64 / secondes.max(1e-9)
        );
    }
    Ok(())
}

/// Failed events listed in full by [`verifier_evenements`]; the count covers the others.
const ECHECS_AFFICHES: usize = 20;

/// Reads every stored event with the current code (`magasin::relecture`): the counts by
/// aggregate type, event type and version; an error naming the events it cannot read.
pub async fn verifier_evenements(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    let rapport = magasin::relecture::verifier(pool).await?;
    let mut s = String::from(
        "agrégat      événement              version   événements  version courante\n",
    );
    for ((agregat, evenement, version), n) in &rapport.comptes {
        let _ = writeln!(
            s,
            "{agregat:<12} {evenement:<22} {version:<9} {n:>10}  {}",
            domain::versions::version_courante(agregat, evenement)
        );
    }
    if rapport.echecs.is_empty() {
        let _ = writeln!(
            s,
            "{} événements lus par le code courant, aucun illisible",
            rapport.total()
        );
        return Ok(s);
    }
    print!("{s}");
    let mut erreur = format!(
        "{} sur {} événements illisibles par le code courant :",
        rapport.echecs.len(),
        rapport.total()
    );
    for e in rapport.echecs.iter().take(ECHECS_AFFICHES) {
        let _ = write!(
            erreur,
            "\n  {} {}#{} ({} {}, événement {}) : {}",
            e.aggregate_type,
            e.aggregate_id,
            e.sequence,
            e.event_type,
            e.event_version,
            e.event_id,
            e.erreur
        );
    }
    if rapport.echecs.len() > ECHECS_AFFICHES {
        let _ = write!(
            erreur,
            "\n  … et {} autres",
            rapport.echecs.len() - ECHECS_AFFICHES
        );
    }
    erreur.push_str(
        "\n  (doc/magasin.md §6 : un upcaster manque, ou la forme a changé sans version)",
    );
    Err(anyhow::anyhow!(erreur))
}

/// Each projection's checkpoint and lag, as a table.
pub async fn statut(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    let mut s =
        String::from("projection   position                  retard (événements)  retard (s)\n");
    for projection in projections::Projection::TOUTES {
        let r = magasin::suivi::retard(pool, projection.nom()).await?;
        let _ = writeln!(
            s,
            "{:<12} {:<25} {:>19}  {:>10.1}",
            projection.nom(),
            format!("{}/{}", r.position.transaction, r.position.position),
            r.evenements,
            r.millisecondes as f64 / 1000.0
        );
    }
    Ok(s)
}
