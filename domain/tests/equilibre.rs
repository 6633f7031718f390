//! Balance of the shipped catalog, measured by simulation over many seeds: a Tank + DPS + Heal
//! trio at an encounter's level wins it nearly always; three DPS mostly lose the dungeon boss.
//! Encounters, levels and the boss all come from the catalog; only the thresholds are here.

use domain::Catalogue;
use domain::combat::Issue;
use domain::simulation::simuler;
use domain::valeurs::{Classe, CodeRencontre, Graine};

const GRAINES: u64 = 1_000;
const VICTOIRES_TRIO_MIN: f64 = 0.90;
const DEFAITES_TRIPLE_DPS_MIN: f64 = 0.70;

async fn taux_de_victoire(rencontre: &CodeRencontre, groupe: &[Classe]) -> f64 {
    let catalogue = Catalogue::officiel().expect("catalogue officiel valide");
    let niveau = catalogue
        .rencontre(rencontre)
        .expect("rencontre du catalogue")
        .niveau;
    let mut victoires = 0u64;
    for graine in 0..GRAINES {
        let bilan = simuler(&catalogue, rencontre, groupe, niveau, Graine::new(graine))
            .await
            .expect("la simulation se déroule");
        if bilan.issue == Issue::Victoire {
            victoires += 1;
        }
    }
    victoires as f64 / GRAINES as f64
}

#[tokio::test]
async fn un_trio_tank_dps_heal_au_niveau_de_chaque_rencontre_la_gagne_presque_toujours() {
    let catalogue = Catalogue::officiel().expect("catalogue officiel valide");
    let mut echecs = Vec::new();
    for code in catalogue.rencontres().keys() {
        let taux = taux_de_victoire(code, &[Classe::Tank, Classe::Dps, Classe::Heal]).await;
        println!(
            "trio Tank+DPS+Heal contre {code} : {:.1} % de victoires",
            taux * 100.0
        );
        if taux < VICTOIRES_TRIO_MIN {
            echecs.push(format!("{code} : {:.1} %", taux * 100.0));
        }
    }
    assert!(
        echecs.is_empty(),
        "rencontres trop dures pour un trio : {echecs:?}"
    );
}

#[tokio::test]
async fn trois_dps_perdent_le_plus_souvent_contre_le_boss_du_donjon() {
    let catalogue = Catalogue::officiel().expect("catalogue officiel valide");
    let boss: Vec<&CodeRencontre> = catalogue
        .rencontres()
        .iter()
        .filter(|(_, r)| {
            catalogue.zone(&r.zone).is_some_and(|z| z.donjon)
                && r.monstres
                    .iter()
                    .any(|m| catalogue.monstre(m).is_some_and(|m| m.boss))
        })
        .map(|(code, _)| code)
        .collect();
    assert!(
        !boss.is_empty(),
        "le catalogue doit avoir un boss de donjon"
    );
    for code in boss {
        let taux = taux_de_victoire(code, &[Classe::Dps, Classe::Dps, Classe::Dps]).await;
        println!(
            "trois DPS contre {code} : {:.1} % de défaites",
            (1.0 - taux) * 100.0
        );
        assert!(
            1.0 - taux >= DEFAITES_TRIPLE_DPS_MIN,
            "trois DPS ne perdent que {:.1} % contre {code}",
            (1.0 - taux) * 100.0
        );
    }
}
