//! `mmo`: the one binary of the backend. Subcommands arrive with their issues; today it
//! migrates the database, checks catalogs and measures balance.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gateway::outils;

#[derive(Parser)]
#[command(name = "mmo", version, about = "Serveur du MMO : outils et services")]
struct Cli {
    #[command(subcommand)]
    commande: Commande,
}

#[derive(Subcommand)]
enum Commande {
    /// Crée la base du jeu si elle manque et applique ses migrations (événements, comptes…).
    Migrate {
        /// Base PostgreSQL du jeu.
        #[arg(
            long,
            env = "MMO_DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/mmo"
        )]
        database_url: String,
    },
    /// Projections : reconstruction par rejeu, état et retard.
    Projections {
        /// Base PostgreSQL du jeu.
        #[arg(
            long,
            env = "MMO_DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/mmo"
        )]
        database_url: String,
        #[command(subcommand)]
        action: ActionProjections,
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

#[tokio::main(flavor = "current_thread")]
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
        Commande::Migrate { database_url } => {
            let appliquees = outils::migrer(&database_url).await?;
            println!("base à jour ({appliquees} migrations appliquées au total)");
        }
        Commande::Projections {
            database_url,
            action,
        } => {
            let pool = outils::connecter(&database_url).await?;
            match action {
                ActionProjections::Rebuild { nom } => {
                    outils::reconstruire(&pool, &nom).await?;
                }
                ActionProjections::Status => print!("{}", outils::statut(&pool).await?),
            }
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
