//! Given/when/then tests of the `Joueur` aggregate.

use cqrs_es::Aggregate;
use cqrs_es::test::TestFramework;

use super::{CommandeJoueur, ErreurJoueur, EvenementJoueur, Joueur, SourceXp};
use crate::essais::{catalogue, code, combat, compte, joueur, niveau, nom};
use crate::valeurs::{Classe, Niveau};

fn framework() -> TestFramework<Joueur> {
    TestFramework::with(catalogue())
}

fn cree(classe: Classe) -> EvenementJoueur {
    EvenementJoueur::JoueurCree {
        joueur_id: joueur(1),
        compte_id: compte(1),
        nom: nom("Aragorn"),
        classe,
        niveau: Niveau::UN,
        stats: catalogue().stats(classe, Niveau::UN),
    }
}

fn xp(source: SourceXp, xp: u32, xp_totale: u64) -> EvenementJoueur {
    EvenementJoueur::XpGagnee {
        source,
        xp,
        xp_totale,
    }
}

#[tokio::test]
async fn creer_un_personnage_le_place_au_niveau_un_avec_les_stats_de_sa_classe() {
    for classe in [Classe::Tank, Classe::Dps, Classe::Heal] {
        framework()
            .given_no_previous_events()
            .when_async(CommandeJoueur::Creer {
                joueur_id: joueur(1),
                compte_id: compte(1),
                nom: nom("Aragorn"),
                classe,
            })
            .await
            .then_expect_events(vec![cree(classe)]);
    }
}

#[tokio::test]
async fn les_trois_classes_n_ont_pas_les_memes_stats() {
    let cat = catalogue();
    let tank = cat.stats(Classe::Tank, Niveau::UN);
    let dps = cat.stats(Classe::Dps, Niveau::UN);
    let heal = cat.stats(Classe::Heal, Niveau::UN);
    assert!(tank.pv_max > dps.pv_max && tank.defense > dps.defense);
    assert!(dps.attaque > tank.attaque && dps.attaque > heal.attaque);
    assert!(heal.soin > 0 && tank.soin == 0 && dps.soin == 0);
}

#[tokio::test]
async fn creer_un_personnage_qui_existe_deja_est_refuse() {
    framework()
        .given(vec![cree(Classe::Tank)])
        .when_async(CommandeJoueur::Creer {
            joueur_id: joueur(1),
            compte_id: compte(1),
            nom: nom("Legolas"),
            classe: Classe::Dps,
        })
        .await
        .then_expect_error(ErreurJoueur::DejaCree);
}

#[tokio::test]
async fn un_personnage_inexistant_ne_peut_rien_faire() {
    for commande in [
        CommandeJoueur::GagnerXp {
            source: SourceXp::Combat(combat(1)),
            xp: 10,
        },
        CommandeJoueur::EntrerEnCombat {
            combat_id: combat(1),
        },
        CommandeJoueur::SortirDuCombat {
            combat_id: combat(1),
        },
    ] {
        framework()
            .given_no_previous_events()
            .when_async(commande)
            .await
            .then_expect_error(ErreurJoueur::JoueurInexistant);
    }
}

#[tokio::test]
async fn gagner_de_l_xp_sous_le_premier_seuil_ne_fait_pas_monter_de_niveau() {
    framework()
        .given(vec![cree(Classe::Dps)])
        .when_async(CommandeJoueur::GagnerXp {
            source: SourceXp::Combat(combat(1)),
            xp: 40,
        })
        .await
        .then_expect_events(vec![xp(SourceXp::Combat(combat(1)), 40, 40)]);
}

#[tokio::test]
async fn franchir_plusieurs_seuils_d_un_coup_donne_un_evenement_par_niveau() {
    let cat = catalogue();
    let seuil_3 = cat.xp_pour_niveau(niveau(3)).expect("niveau 3 existe");
    let gain = u32::try_from(seuil_3).expect("petit seuil");
    framework()
        .given(vec![cree(Classe::Heal)])
        .when_async(CommandeJoueur::GagnerXp {
            source: SourceXp::Quete(code("chasse_aux_loups")),
            xp: gain,
        })
        .await
        .then_expect_events(vec![
            xp(SourceXp::Quete(code("chasse_aux_loups")), gain, seuil_3),
            EvenementJoueur::NiveauAtteint {
                niveau: niveau(2),
                stats: cat.stats(Classe::Heal, niveau(2)),
            },
            EvenementJoueur::NiveauAtteint {
                niveau: niveau(3),
                stats: cat.stats(Classe::Heal, niveau(3)),
            },
        ]);
}

#[tokio::test]
async fn au_niveau_maximum_l_xp_s_accumule_sans_nouveau_niveau() {
    let cat = catalogue();
    let max = cat.regles().niveau_max;
    let seuil_max = cat.xp_pour_niveau(max).expect("le niveau max a un seuil");
    let mut historique = vec![
        cree(Classe::Tank),
        xp(SourceXp::Combat(combat(1)), 1, seuil_max),
    ];
    historique.push(EvenementJoueur::NiveauAtteint {
        niveau: max,
        stats: cat.stats(Classe::Tank, max),
    });
    framework()
        .given(historique)
        .when_async(CommandeJoueur::GagnerXp {
            source: SourceXp::Combat(combat(2)),
            xp: 5_000,
        })
        .await
        .then_expect_events(vec![xp(
            SourceXp::Combat(combat(2)),
            5_000,
            seuil_max + 5_000,
        )]);
}

#[tokio::test]
async fn la_meme_source_d_xp_ne_paie_qu_une_fois() {
    framework()
        .given(vec![
            cree(Classe::Dps),
            xp(SourceXp::Combat(combat(1)), 40, 40),
        ])
        .when_async(CommandeJoueur::GagnerXp {
            source: SourceXp::Combat(combat(1)),
            xp: 40,
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn un_gain_d_xp_nul_est_refuse() {
    framework()
        .given(vec![cree(Classe::Dps)])
        .when_async(CommandeJoueur::GagnerXp {
            source: SourceXp::Combat(combat(1)),
            xp: 0,
        })
        .await
        .then_expect_error(ErreurJoueur::XpNulle);
}

#[tokio::test]
async fn un_personnage_libre_entre_en_combat() {
    framework()
        .given(vec![cree(Classe::Tank)])
        .when_async(CommandeJoueur::EntrerEnCombat {
            combat_id: combat(1),
        })
        .await
        .then_expect_events(vec![EvenementJoueur::EntreEnCombat {
            combat_id: combat(1),
        }]);
}

#[tokio::test]
async fn entrer_deux_fois_dans_le_meme_combat_ne_change_rien() {
    framework()
        .given(vec![
            cree(Classe::Tank),
            EvenementJoueur::EntreEnCombat {
                combat_id: combat(1),
            },
        ])
        .when_async(CommandeJoueur::EntrerEnCombat {
            combat_id: combat(1),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn un_personnage_engage_ne_peut_pas_entrer_dans_un_autre_combat() {
    framework()
        .given(vec![
            cree(Classe::Tank),
            EvenementJoueur::EntreEnCombat {
                combat_id: combat(1),
            },
        ])
        .when_async(CommandeJoueur::EntrerEnCombat {
            combat_id: combat(2),
        })
        .await
        .then_expect_error(ErreurJoueur::DejaEnCombat(combat(1)));
}

#[tokio::test]
async fn sortir_de_son_combat_libere_le_personnage() {
    framework()
        .given(vec![
            cree(Classe::Heal),
            EvenementJoueur::EntreEnCombat {
                combat_id: combat(1),
            },
        ])
        .when_async(CommandeJoueur::SortirDuCombat {
            combat_id: combat(1),
        })
        .await
        .then_expect_events(vec![EvenementJoueur::SortiDuCombat {
            combat_id: combat(1),
        }]);
}

#[tokio::test]
async fn sortir_d_un_combat_ou_l_on_n_est_pas_ne_change_rien() {
    framework()
        .given(vec![
            cree(Classe::Heal),
            EvenementJoueur::EntreEnCombat {
                combat_id: combat(1),
            },
        ])
        .when_async(CommandeJoueur::SortirDuCombat {
            combat_id: combat(2),
        })
        .await
        .then_expect_events(vec![]);
}

#[test]
fn rejouer_l_historique_reconstruit_la_fiche() {
    let cat = catalogue();
    let mut j = Joueur::default();
    for e in [
        cree(Classe::Dps),
        xp(SourceXp::Combat(combat(1)), 120, 120),
        EvenementJoueur::NiveauAtteint {
            niveau: niveau(2),
            stats: cat.stats(Classe::Dps, niveau(2)),
        },
        EvenementJoueur::EntreEnCombat {
            combat_id: combat(2),
        },
    ] {
        j.apply(e);
    }
    let fiche = j.fiche().expect("personnage créé");
    assert_eq!(fiche.niveau, niveau(2));
    assert_eq!(fiche.xp, 120);
    assert_eq!(fiche.stats, cat.stats(Classe::Dps, niveau(2)));
    assert_eq!(fiche.combat, Some(combat(2)));
    assert!(fiche.sources_xp.contains(&SourceXp::Combat(combat(1))));
}
