//! `mmo`: the one binary of the backend: `serve` runs everything in one process, `worker`
//! runs one part, and the tools migrate the database, rebuild projections, check that every
//! stored event still reads, promote admins, check catalogs and measure balance.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gateway::config::{Connexions, Reglages};
use gateway::outils;
use gateway::serveur::Serveur;

/// mimalloc rather than glibc's malloc: the server allocates and frees small buffers for every
/// message, and glibc's allocator was a sixth of its CPU under load (doc/performance.md).
#[global_allocator]
static ALLOCATEUR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "mmo", version, about = "Serveur du MMO : outils et services")]
struct Cli {
    #[command(subcommand)]
    commande: Commande,
}

#[derive(Subcommand)]
enum Commande {
    /// Lance tout le serveur dans un processus : passerelle HTTP/WebSocket et travailleurs
    /// (projections, bus, notifications). Applique les migrations au démarrage.
    Serve {
        #[command(flatten)]
        connexions: Connexions,
        #[command(flatten)]
        reglages: Reglages,
        /// Journaux en JSON, une ligne par événement.
        #[arg(long, env = "MMO_LOGS_JSON")]
        logs_json: bool,
    },
    /// Lance une seule partie du serveur.
    Worker {
        #[command(flatten)]
        connexions: Connexions,
        /// La partie à lancer.
        #[arg(value_enum)]
        partie: outils::Partie,
        /// Adresse de /metrics et /healthz de ce processus.
        #[arg(long, env = "MMO_ADRESSE_METRIQUES", default_value = "127.0.0.1:9101")]
        metriques: std::net::SocketAddr,
        /// Journaux en JSON, une ligne par événement.
        #[arg(long, env = "MMO_LOGS_JSON")]
        logs_json: bool,
    },
    /// Administration des comptes.
    Admin {
        #[command(flatten)]
        base: BaseDuJeu,
        #[command(subcommand)]
        action: ActionAdmin,
    },
    /// Crée la base du jeu si elle manque et applique ses migrations (événements, comptes…).
    Migrate {
        #[command(flatten)]
        base: BaseDuJeu,
    },
    /// Projections : reconstruction par rejeu, état et retard.
    Projections {
        #[command(flatten)]
        base: BaseDuJeu,
        #[command(subcommand)]
        action: ActionProjections,
    },
    /// Événements stockés : relecture de chacun par le code courant.
    Evenements {
        #[command(flatten)]
        base: BaseDuJeu,
        #[command(subcommand)]
        action: ActionEvenements,
    },
    /// Valide un catalogue et en affiche le résumé.
    Catalogue {
        /// Fichier TOML à valider (par défaut : le catalogue livré, domain/catalogue.toml).
        #[arg(long, env = "MMO_CATALOGUE")]
        fichier: Option<PathBuf>,
    },
    /// Mesure l'équilibrage : taux de victoire de plusieurs groupes contre chaque rencontre.
    Simuler {
        /// Catalogue à simuler (par défaut : le catalogue livré).
        #[arg(long, env = "MMO_CATALOGUE")]
        fichier: Option<PathBuf>,
        /// Nombre de graines (combats) par case du tableau.
        #[arg(long, default_value_t = 1_000)]
        graines: u64,
    },
}

/// The game database, for the commands that work on it alone.
#[derive(Args)]
struct BaseDuJeu {
    /// Base PostgreSQL du jeu.
    #[arg(
        long,
        env = "MMO_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/mmo"
    )]
    database_url: String,
}

#[derive(Subcommand)]
enum ActionProjections {
    /// Rejoue une projection (ou toutes : `all`) depuis le début dans des tables neuves, puis
    /// les met en place d'un coup.
    Rebuild {
        /// joueurs, inventaires, quetes, combats, economie ou all.
        nom: String,
    },
    /// Point de reprise et retard de chaque projection.
    Status,
}

#[derive(Subcommand)]
enum ActionEvenements {
    /// Relit chaque événement du magasin avec le code courant (montée de version puis
    /// désérialisation) : comptes par agrégat, type et version ; échoue en nommant chaque
    /// événement illisible.
    Verifier,
}

#[derive(Subcommand)]
enum ActionAdmin {
    /// Donne (ou retire, avec --retirer) le rôle d'administrateur à un compte.
    Promouvoir {
        /// Le login du compte.
        login: String,
        /// Retire le rôle au lieu de le donner.
        #[arg(long)]
        retirer: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match executer(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mmo : {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn executer(cli: Cli) -> anyhow::Result<()> {
    match cli.commande {
        Commande::Serve {
            connexions,
            reglages,
            logs_json,
        } => {
            gateway::telemetrie::initialiser(logs_json);
            // A fresh machine has no game database yet: create it, as `mmo migrate` would.
            outils::migrer(&connexions.database_url).await?;
            let serveur = Serveur::demarrer(&connexions, &reglages).await?;
            println!("mmo : à l'écoute sur http://{}", serveur.adresse);
            tokio::signal::ctrl_c().await?;
            tracing::info!("arrêt demandé");
            serveur.arreter().await;
        }
        Commande::Worker {
            connexions,
            partie,
            metriques,
            logs_json,
        } => {
            gateway::telemetrie::initialiser(logs_json);
            outils::travailler(&connexions, partie, metriques).await?;
        }
        Commande::Admin {
            base,
            action: ActionAdmin::Promouvoir { login, retirer },
        } => {
            let pool = outils::connecter(&base.database_url).await?;
            outils::promouvoir(&pool, &login, !retirer).await?;
            let role = if retirer { "retiré à" } else { "donné à" };
            println!("rôle d'administrateur {role} « {login} »");
        }
        Commande::Migrate { base } => {
            let appliquees = outils::migrer(&base.database_url).await?;
            println!("base à jour ({appliquees} migrations appliquées au total)");
        }
        Commande::Projections { base, action } => {
            let pool = outils::connecter(&base.database_url).await?;
            match action {
                ActionProjections::Rebuild { nom } => {
                    outils::reconstruire(&pool, &nom).await?;
                }
                ActionProjections::Status => print!("{}", outils::statut(&pool).await?),
            }
        }
        Commande::Evenements {
            base,
            action: ActionEvenements::Verifier,
        } => {
            let pool = outils::connecter(&base.database_url).await?;
            print!("{}", outils::verifier_evenements(&pool).await?);
        }
        Commande::Catalogue { fichier } => {
            let catalogue = outils::charger_catalogue(fichier.as_deref())?;
            print!("{}", outils::resume(&catalogue));
        }
        Commande::Simuler { fichier, graines } => {
            let catalogue = outils::charger_catalogue(fichier.as_deref())?;
            print!(
                "{}",
                outils::table_d_equilibrage(&catalogue, graines).await?
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// Every environment variable of every subcommand, walked through clap itself.
    fn variables(commande: &clap::Command, vues: &mut Vec<String>) {
        for arg in commande.get_arguments() {
            if let Some(nom) = arg.get_env() {
                vues.push(nom.to_string_lossy().into_owned());
            }
        }
        for sous in commande.get_subcommands() {
            variables(sous, vues);
        }
    }

    #[test]
    fn chaque_variable_d_environnement_est_documentee() {
        let doc = include_str!("../../doc/passerelle.md");
        let mut vues = Vec::new();
        variables(&Cli::command(), &mut vues);
        assert!(vues.len() >= 20, "{vues:?}");
        let absentes: Vec<&String> = vues
            .iter()
            .filter(|v| !doc.contains(&format!("| `{v}` (")))
            .collect();
        assert!(
            absentes.is_empty(),
            "doc/passerelle.md §1.1 ne documente pas {absentes:?}"
        );
    }

    #[test]
    fn un_prefixe_de_bus_qui_changerait_un_sujet_nats_est_refuse() {
        let serve = |prefixe: &str| {
            Cli::try_parse_from(["mmo", "serve", "--prefixe-bus", prefixe]).map(drop)
        };
        assert!(serve("jeu_2").is_ok());
        for mauvais in ["jeu.2", "jeu-2", "a*", "a>", "a b"] {
            assert!(serve(mauvais).is_err(), "{mauvais}");
        }
    }
}
