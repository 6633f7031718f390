//! Given/when/then tests of the `Quete` aggregate.

use cqrs_es::Aggregate;
use cqrs_es::test::TestFramework;

use super::{CleFait, CommandeQuete, ErreurQuete, EvenementQuete, Fait, Quete, Statut};
use crate::catalogue::Objectif;
use crate::essais::{catalogue, code, combat, fabrication, joueur, niveau, q};
use crate::valeurs::{Classe, CodeMonstre, Niveau};

fn framework() -> TestFramework<Quete> {
    TestFramework::with(catalogue())
}

fn accepter(quete: &str, niveau_joueur: Niveau, terminees: &[&str]) -> CommandeQuete {
    CommandeQuete::Accepter {
        joueur_id: joueur(1),
        quete: code(quete),
        niveau_joueur,
        quetes_terminees: terminees.iter().map(|c| code(c)).collect(),
    }
}

fn acceptee(quete: &str) -> EvenementQuete {
    let objectif = catalogue()
        .quete(&code(quete))
        .expect("quête du catalogue")
        .objectif
        .clone();
    EvenementQuete::QueteAcceptee {
        joueur_id: joueur(1),
        quete: code(quete),
        requis: objectif.requis(),
        objectif,
    }
}

fn terminee(quete: &str) -> EvenementQuete {
    EvenementQuete::QueteTerminee {
        joueur_id: joueur(1),
        quete: code(quete),
        recompense: catalogue()
            .quete(&code(quete))
            .expect("quête du catalogue")
            .recompense
            .clone(),
    }
}

fn combat_gagne(n: u64, classe: Classe, monstres: &[&str]) -> Fait {
    Fait::CombatTermine {
        combat_id: combat(n),
        victoire: true,
        classe,
        monstres_vaincus: monstres.iter().map(|m| code::<CodeMonstre>(m)).collect(),
    }
}

/// The number of wolves `chasse_aux_loups` asks for, read from the catalog.
fn loups_requis() -> u32 {
    match catalogue()
        .quete(&code("chasse_aux_loups"))
        .expect("quête du catalogue")
        .objectif
    {
        Objectif::Vaincre { nombre, .. } => nombre,
        ref autre => panic!("chasse_aux_loups devrait demander de vaincre : {autre:?}"),
    }
}

#[tokio::test]
async fn accepter_une_quete_copie_son_objectif() {
    framework()
        .given_no_previous_events()
        .when_async(accepter("chasse_aux_loups", Niveau::UN, &[]))
        .await
        .then_expect_events(vec![acceptee("chasse_aux_loups")]);
}

#[tokio::test]
async fn une_quete_inconnue_est_refusee() {
    framework()
        .given_no_previous_events()
        .when_async(accepter("quete_imaginaire", Niveau::UN, &[]))
        .await
        .then_expect_error(ErreurQuete::QueteInconnue(code("quete_imaginaire")));
}

#[tokio::test]
async fn un_niveau_trop_bas_est_refuse() {
    let requis = catalogue()
        .quete(&code("toile_maudite"))
        .expect("quête du catalogue")
        .niveau_min;
    framework()
        .given_no_previous_events()
        .when_async(accepter("toile_maudite", Niveau::UN, &["chasse_aux_loups"]))
        .await
        .then_expect_error(ErreurQuete::NiveauInsuffisant {
            requis,
            actuel: Niveau::UN,
        });
}

#[tokio::test]
async fn un_prerequis_non_termine_est_refuse() {
    framework()
        .given_no_previous_events()
        .when_async(accepter("toile_maudite", niveau(5), &[]))
        .await
        .then_expect_error(ErreurQuete::PrerequisManquant(code("chasse_aux_loups")));
}

#[tokio::test]
async fn avec_ses_prerequis_une_quete_avancee_s_accepte() {
    framework()
        .given_no_previous_events()
        .when_async(accepter("toile_maudite", niveau(5), &["chasse_aux_loups"]))
        .await
        .then_expect_events(vec![acceptee("toile_maudite")]);
}

#[tokio::test]
async fn accepter_une_quete_en_cours_est_refuse() {
    framework()
        .given(vec![acceptee("chasse_aux_loups")])
        .when_async(accepter("chasse_aux_loups", Niveau::UN, &[]))
        .await
        .then_expect_error(ErreurQuete::DejaEnCours);
}

#[tokio::test]
async fn accepter_une_quete_terminee_est_refuse() {
    framework()
        .given(vec![
            acceptee("premier_lingot"),
            EvenementQuete::QueteProgressee {
                source: CleFait::Fabrication(fabrication(1)),
                progression: 1,
                requis: 1,
            },
            terminee("premier_lingot"),
        ])
        .when_async(accepter("premier_lingot", Niveau::UN, &[]))
        .await
        .then_expect_error(ErreurQuete::DejaTerminee);
}

#[tokio::test]
async fn vaincre_des_monstres_fait_progresser_du_nombre_de_monstres_vises() {
    framework()
        .given(vec![acceptee("chasse_aux_loups")])
        .when_async(CommandeQuete::Progresser {
            fait: combat_gagne(1, Classe::Dps, &["loup", "loup", "sanglier"]),
        })
        .await
        .then_expect_events(vec![EvenementQuete::QueteProgressee {
            source: CleFait::Combat(combat(1)),
            progression: 2,
            requis: loups_requis(),
        }]);
}

#[tokio::test]
async fn atteindre_l_objectif_termine_la_quete_avec_ses_recompenses() {
    let requis = loups_requis();
    framework()
        .given(vec![
            acceptee("chasse_aux_loups"),
            EvenementQuete::QueteProgressee {
                source: CleFait::Combat(combat(1)),
                progression: requis - 1,
                requis,
            },
        ])
        .when_async(CommandeQuete::Progresser {
            fait: combat_gagne(2, Classe::Tank, &["loup", "loup"]),
        })
        .await
        .then_expect_events(vec![
            EvenementQuete::QueteProgressee {
                source: CleFait::Combat(combat(2)),
                progression: requis,
                requis,
            },
            terminee("chasse_aux_loups"),
        ]);
}

#[tokio::test]
async fn les_monstres_abattus_dans_un_combat_perdu_ne_comptent_pas() {
    framework()
        .given(vec![acceptee("chasse_aux_loups")])
        .when_async(CommandeQuete::Progresser {
            fait: Fait::CombatTermine {
                combat_id: combat(1),
                victoire: false,
                classe: Classe::Dps,
                monstres_vaincus: vec![code("loup")],
            },
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn le_meme_fait_ne_compte_qu_une_fois() {
    framework()
        .given(vec![
            acceptee("chasse_aux_loups"),
            EvenementQuete::QueteProgressee {
                source: CleFait::Combat(combat(1)),
                progression: 2,
                requis: loups_requis(),
            },
        ])
        .when_async(CommandeQuete::Progresser {
            fait: combat_gagne(1, Classe::Dps, &["loup", "loup"]),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn un_fait_sans_rapport_avec_l_objectif_ne_change_rien() {
    framework()
        .given(vec![acceptee("chasse_aux_loups")])
        .when_async(CommandeQuete::Progresser {
            fait: Fait::ObjetFabrique {
                fabrication_id: fabrication(1),
                item: code("lingot_de_fer"),
                quantite: q(1),
            },
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn fabriquer_l_objet_demande_termine_une_quete_de_fabrication() {
    framework()
        .given(vec![acceptee("premier_lingot")])
        .when_async(CommandeQuete::Progresser {
            fait: Fait::ObjetFabrique {
                fabrication_id: fabrication(7),
                item: code("lingot_de_fer"),
                quantite: q(1),
            },
        })
        .await
        .then_expect_events(vec![
            EvenementQuete::QueteProgressee {
                source: CleFait::Fabrication(fabrication(7)),
                progression: 1,
                requis: 1,
            },
            terminee("premier_lingot"),
        ]);
}

#[tokio::test]
async fn seule_une_victoire_dans_le_role_demande_compte() {
    // Lost as Heal, won as DPS: neither counts for a Heal quest.
    for fait in [
        Fait::CombatTermine {
            combat_id: combat(1),
            victoire: false,
            classe: Classe::Heal,
            monstres_vaincus: vec![],
        },
        combat_gagne(2, Classe::Dps, &["loup"]),
    ] {
        framework()
            .given(vec![acceptee("main_secourable")])
            .when_async(CommandeQuete::Progresser { fait })
            .await
            .then_expect_events(vec![]);
    }
    framework()
        .given(vec![acceptee("main_secourable")])
        .when_async(CommandeQuete::Progresser {
            fait: combat_gagne(3, Classe::Heal, &["loup"]),
        })
        .await
        .then_expect_events(vec![
            EvenementQuete::QueteProgressee {
                source: CleFait::Combat(combat(3)),
                progression: 1,
                requis: 1,
            },
            terminee("main_secourable"),
        ]);
}

#[tokio::test]
async fn une_quete_de_niveau_deja_atteint_se_termine_des_l_acceptation() {
    framework()
        .given_no_previous_events()
        .when_async(accepter("aguerri", niveau(4), &[]))
        .await
        .then_expect_events(vec![
            acceptee("aguerri"),
            EvenementQuete::QueteProgressee {
                source: CleFait::Niveau(niveau(4)),
                progression: 3,
                requis: 3,
            },
            terminee("aguerri"),
        ]);
}

#[tokio::test]
async fn une_quete_de_niveau_progresse_avec_chaque_niveau_atteint() {
    framework()
        .given(vec![
            acceptee("aguerri"),
            EvenementQuete::QueteProgressee {
                source: CleFait::Niveau(Niveau::UN),
                progression: 1,
                requis: 3,
            },
        ])
        .when_async(CommandeQuete::Progresser {
            fait: Fait::NiveauAtteint { niveau: niveau(2) },
        })
        .await
        .then_expect_events(vec![EvenementQuete::QueteProgressee {
            source: CleFait::Niveau(niveau(2)),
            progression: 2,
            requis: 3,
        }]);
}

#[tokio::test]
async fn progresser_une_quete_non_acceptee_est_refuse() {
    framework()
        .given_no_previous_events()
        .when_async(CommandeQuete::Progresser {
            fait: Fait::NiveauAtteint { niveau: niveau(2) },
        })
        .await
        .then_expect_error(ErreurQuete::PasEnCours);
}

#[tokio::test]
async fn abandonner_une_quete_en_cours() {
    framework()
        .given(vec![acceptee("chasse_aux_loups")])
        .when_async(CommandeQuete::Abandonner)
        .await
        .then_expect_events(vec![EvenementQuete::QueteAbandonnee {
            joueur_id: joueur(1),
            quete: code("chasse_aux_loups"),
        }]);
}

#[tokio::test]
async fn abandonner_une_quete_qui_n_est_pas_en_cours_est_refuse() {
    let abandonnee = EvenementQuete::QueteAbandonnee {
        joueur_id: joueur(1),
        quete: code("chasse_aux_loups"),
    };
    for historique in [vec![], vec![acceptee("chasse_aux_loups"), abandonnee]] {
        framework()
            .given(historique)
            .when_async(CommandeQuete::Abandonner)
            .await
            .then_expect_error(ErreurQuete::PasEnCours);
    }
}

#[tokio::test]
async fn une_quete_abandonnee_se_reprend_de_zero_sans_recompter_les_anciens_faits() {
    let mut quete = Quete::default();
    for e in [
        acceptee("chasse_aux_loups"),
        EvenementQuete::QueteProgressee {
            source: CleFait::Combat(combat(1)),
            progression: 2,
            requis: loups_requis(),
        },
        EvenementQuete::QueteAbandonnee {
            joueur_id: joueur(1),
            quete: code("chasse_aux_loups"),
        },
        acceptee("chasse_aux_loups"),
    ] {
        quete.apply(e);
    }
    let etat = quete.etat().expect("quête acceptée");
    assert_eq!(etat.statut, Statut::EnCours);
    assert_eq!(etat.progression, 0);
    let evenements = quete
        .decider(
            CommandeQuete::Progresser {
                fait: combat_gagne(1, Classe::Dps, &["loup", "loup"]),
            },
            &catalogue(),
        )
        .expect("progression acceptée");
    assert!(
        evenements.is_empty(),
        "un fait déjà compté avant l'abandon recompte : {evenements:?}"
    );
}
