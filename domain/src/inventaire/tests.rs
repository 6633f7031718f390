//! Given/when/then tests of the `Inventaire` aggregate. Prices, stack sizes, recipes, rewards
//! and the starting kit are read from the shipped catalog, so a catalog change moves the
//! expectations with it instead of silently making a test wrong.

use std::collections::BTreeMap;

use cqrs_es::test::TestFramework;

use super::{Cause, CommandeInventaire, ErreurInventaire, EvenementInventaire, Inventaire};
use crate::catalogue::{DefRecette, LigneItem, RecompenseQuete};
use crate::echange::Offre;
use crate::essais::{catalogue, code, combat, echange, fabrication, joueur, or, q};
use crate::valeurs::{CodeItem, CodeMarchand, CodeQuete, CodeRecette, Or, Raison};

type Essai = TestFramework<Inventaire>;

const FORGERONNE: &str = "forgeronne_brunehilde";
const APOTHICAIRE: &str = "apothicaire_mirabelle";

// ------------------------------------------------------------------ fixtures

fn item(c: &str) -> CodeItem {
    code(c)
}

fn marchand(c: &str) -> CodeMarchand {
    code(c)
}

fn ligne(c: &str, n: u32) -> LigneItem {
    LigneItem {
        item: item(c),
        quantite: q(n),
    }
}

fn offre(pieces: u64, items: &[(&str, u32)]) -> Offre {
    Offre {
        or: or(pieces),
        items: items.iter().map(|&(c, n)| (item(c), q(n))).collect(),
    }
}

/// What a merchant asks for one item.
fn prix_vente(m: &str, i: &str) -> u64 {
    catalogue()
        .marchand(&marchand(m))
        .and_then(|d| d.article(&item(i)))
        .and_then(|a| a.prix_vente)
        .expect("le catalogue fait vendre cet article à ce marchand")
        .pieces()
}

/// What a merchant pays for one item.
fn prix_rachat(m: &str, i: &str) -> u64 {
    catalogue()
        .marchand(&marchand(m))
        .and_then(|d| d.article(&item(i)))
        .and_then(|a| a.prix_rachat)
        .expect("le catalogue fait racheter cet article par ce marchand")
        .pieces()
}

fn pile(i: &str) -> u32 {
    catalogue()
        .item(&item(i))
        .expect("item du catalogue")
        .pile_max
}

fn capacite() -> u32 {
    catalogue().regles().capacite_inventaire
}

fn recette(c: &str) -> DefRecette {
    catalogue()
        .recette(&code(c))
        .expect("recette du catalogue")
        .clone()
}

fn recompense(c: &str) -> RecompenseQuete {
    catalogue()
        .quete(&code(c))
        .expect("quête du catalogue")
        .recompense
        .clone()
}

fn fabrication_de(n: u64, r: &str) -> Cause {
    Cause::Fabrication {
        fabrication_id: fabrication(n),
        recette: code(r),
    }
}

fn par_echange(n: u64) -> Cause {
    Cause::Echange {
        echange_id: echange(n),
        avec: joueur(2),
    }
}

/// The history of an opened inventory that was given this gold and these (distinct) items.
fn contenant(pieces: u64, items: &[(&str, u32)]) -> Vec<EvenementInventaire> {
    let mut historique = vec![EvenementInventaire::InventaireOuvert {
        joueur_id: joueur(1),
    }];
    if pieces > 0 {
        historique.push(EvenementInventaire::OrCredite {
            montant: or(pieces),
            solde: or(pieces),
            cause: Cause::KitDeDepart,
        });
    }
    historique.extend(items.iter().map(|&(c, n)| EvenementInventaire::ItemAjoute {
        item: item(c),
        quantite: q(n),
        total: n,
        cause: Cause::KitDeDepart,
    }));
    historique
}

/// An inventory whose `pleins` first slots are full stacks of wolf pelts, plus what is listed.
fn sac_rempli(pleins: u32, pieces: u64, autres: &[(&str, u32)]) -> Vec<EvenementInventaire> {
    let mut items = vec![("peau_de_loup", pile("peau_de_loup") * pleins)];
    items.extend_from_slice(autres);
    contenant(pieces, &items)
}

fn reservee(n: u64, o: Offre) -> EvenementInventaire {
    EvenementInventaire::OffreReservee {
        echange_id: echange(n),
        offre: o,
    }
}

fn avec(
    historique: Vec<EvenementInventaire>,
    suite: impl IntoIterator<Item = EvenementInventaire>,
) -> Vec<EvenementInventaire> {
    let mut tout = historique;
    tout.extend(suite);
    tout
}

fn acheter(m: &str, i: &str, n: u32) -> CommandeInventaire {
    CommandeInventaire::Acheter {
        marchand: marchand(m),
        item: item(i),
        quantite: q(n),
    }
}

fn vendre(m: &str, i: &str, n: u32) -> CommandeInventaire {
    CommandeInventaire::Vendre {
        marchand: marchand(m),
        item: item(i),
        quantite: q(n),
    }
}

fn jeter(i: &str, n: u32) -> CommandeInventaire {
    CommandeInventaire::Jeter {
        item: item(i),
        quantite: q(n),
    }
}

fn fabriquer(n: u64, r: &str) -> CommandeInventaire {
    CommandeInventaire::Fabriquer {
        fabrication_id: fabrication(n),
        recette: code(r),
    }
}

fn conclure(n: u64, donne: Offre, recu: Offre) -> CommandeInventaire {
    CommandeInventaire::ConclureEchange {
        echange_id: echange(n),
        avec: joueur(2),
        donne,
        recu,
    }
}

// ------------------------------------------------------------------ successes

#[tokio::test]
async fn ouvrir_un_inventaire_credite_l_or_et_le_kit_de_depart() {
    let services = catalogue();
    let regles = services.regles();
    assert!(
        !regles.or_depart.est_nul() && !regles.kit_depart.is_empty(),
        "le départ du catalogue doit donner de l'or et des items pour que ce test ait un sens"
    );
    let mut attendus = vec![
        EvenementInventaire::InventaireOuvert {
            joueur_id: joueur(1),
        },
        EvenementInventaire::OrCredite {
            montant: regles.or_depart,
            solde: regles.or_depart,
            cause: Cause::KitDeDepart,
        },
    ];
    let mut totaux = BTreeMap::<CodeItem, u32>::new();
    for l in &regles.kit_depart {
        let total = totaux.entry(l.item.clone()).or_default();
        *total += l.quantite.valeur();
        attendus.push(EvenementInventaire::ItemAjoute {
            item: l.item.clone(),
            quantite: l.quantite,
            total: *total,
            cause: Cause::KitDeDepart,
        });
    }

    Essai::with(services.clone())
        .given_no_previous_events()
        .when_async(CommandeInventaire::Ouvrir {
            joueur_id: joueur(1),
        })
        .await
        .then_expect_events(attendus);
}

#[tokio::test]
async fn recevoir_un_butin_credite_l_or_et_les_items_avec_les_soldes() {
    let cause = Cause::Butin {
        combat_id: combat(1),
    };
    Essai::with(catalogue())
        .given(contenant(30, &[("pain", 5)]))
        .when_async(CommandeInventaire::RecevoirButin {
            combat_id: combat(1),
            or: or(7),
            items: vec![ligne("pain", 2), ligne("croc_de_loup", 1)],
        })
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrCredite {
                montant: or(7),
                solde: or(37),
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("pain"),
                quantite: q(2),
                total: 7,
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("croc_de_loup"),
                quantite: q(1),
                total: 1,
                cause,
            },
        ]);
}

#[tokio::test]
async fn plusieurs_mouvements_d_un_meme_item_cumulent_leurs_totaux() {
    let cause = Cause::Butin {
        combat_id: combat(1),
    };
    Essai::with(catalogue())
        .given(contenant(0, &[("pain", 5)]))
        .when_async(CommandeInventaire::RecevoirButin {
            combat_id: combat(1),
            or: Or::ZERO,
            items: vec![ligne("pain", 2), ligne("pain", 3)],
        })
        .await
        .then_expect_events(vec![
            EvenementInventaire::ItemAjoute {
                item: item("pain"),
                quantite: q(2),
                total: 7,
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("pain"),
                quantite: q(3),
                total: 10,
                cause,
            },
        ]);
}

#[tokio::test]
async fn recevoir_une_recompense_de_quete_credite_l_or_et_les_items() {
    let quete: CodeQuete = code("chasse_aux_loups");
    let rec = recompense("chasse_aux_loups");
    assert!(!rec.or.est_nul() && !rec.items.is_empty());
    let deja = 3;
    let cause = Cause::RecompenseQuete {
        quete: quete.clone(),
    };
    let mut attendus = vec![EvenementInventaire::OrCredite {
        montant: rec.or,
        solde: or(30 + rec.or.pieces()),
        cause: cause.clone(),
    }];
    let mut totaux: BTreeMap<CodeItem, u32> =
        rec.items.iter().map(|l| (l.item.clone(), deja)).collect();
    for l in &rec.items {
        let total = totaux.get_mut(&l.item).expect("item de la récompense");
        *total += l.quantite.valeur();
        attendus.push(EvenementInventaire::ItemAjoute {
            item: l.item.clone(),
            quantite: l.quantite,
            total: *total,
            cause: cause.clone(),
        });
    }
    let possedes: Vec<(&str, u32)> = totaux.keys().map(|i| (i.as_str(), deja)).collect();

    Essai::with(catalogue())
        .given(contenant(30, &possedes))
        .when_async(CommandeInventaire::RecevoirRecompense {
            quete,
            or: rec.or,
            items: rec.items.clone(),
        })
        .await
        .then_expect_events(attendus);
}

#[tokio::test]
async fn fabriquer_retire_les_ingredients_debite_le_cout_et_ajoute_le_produit() {
    let r = recette("epee_en_fer");
    assert!(!r.cout.est_nul(), "la recette choisie doit coûter de l'or");
    let cause = fabrication_de(1, "epee_en_fer");
    let possedes: Vec<(&str, u32)> = r
        .ingredients
        .iter()
        .map(|l| (l.item.as_str(), l.quantite.valeur() + 1))
        .collect();
    let mut attendus: Vec<EvenementInventaire> = r
        .ingredients
        .iter()
        .map(|l| EvenementInventaire::ItemRetire {
            item: l.item.clone(),
            quantite: l.quantite,
            total: 1,
            cause: cause.clone(),
        })
        .collect();
    attendus.extend([
        EvenementInventaire::OrDebite {
            montant: r.cout,
            solde: or(5),
            cause: cause.clone(),
        },
        EvenementInventaire::ItemAjoute {
            item: r.produit.item.clone(),
            quantite: r.produit.quantite,
            total: r.produit.quantite.valeur(),
            cause,
        },
        EvenementInventaire::ObjetFabrique {
            fabrication_id: fabrication(1),
            recette: code("epee_en_fer"),
            item: r.produit.item.clone(),
            quantite: r.produit.quantite,
        },
    ]);

    Essai::with(catalogue())
        .given(contenant(r.cout.pieces() + 5, &possedes))
        .when_async(fabriquer(1, "epee_en_fer"))
        .await
        .then_expect_events(attendus);
}

#[tokio::test]
async fn fabriquer_une_recette_gratuite_ne_debite_pas_d_or() {
    let r = recette("lingot_de_fer");
    assert!(r.cout.est_nul(), "la recette choisie doit être gratuite");
    let cause = fabrication_de(1, "lingot_de_fer");
    let possedes: Vec<(&str, u32)> = r
        .ingredients
        .iter()
        .map(|l| (l.item.as_str(), l.quantite.valeur()))
        .collect();
    let mut attendus: Vec<EvenementInventaire> = r
        .ingredients
        .iter()
        .map(|l| EvenementInventaire::ItemRetire {
            item: l.item.clone(),
            quantite: l.quantite,
            total: 0,
            cause: cause.clone(),
        })
        .collect();
    attendus.extend([
        EvenementInventaire::ItemAjoute {
            item: r.produit.item.clone(),
            quantite: r.produit.quantite,
            total: r.produit.quantite.valeur(),
            cause,
        },
        EvenementInventaire::ObjetFabrique {
            fabrication_id: fabrication(1),
            recette: code("lingot_de_fer"),
            item: r.produit.item.clone(),
            quantite: r.produit.quantite,
        },
    ]);

    Essai::with(catalogue())
        .given(contenant(30, &possedes))
        .when_async(fabriquer(1, "lingot_de_fer"))
        .await
        .then_expect_events(attendus);
}

#[tokio::test]
async fn acheter_debite_le_prix_et_ajoute_l_item() {
    let prix = prix_vente(APOTHICAIRE, "herbe_medicinale") * 2;
    let cause = Cause::Achat {
        marchand: marchand(APOTHICAIRE),
    };
    Essai::with(catalogue())
        .given(contenant(prix + 7, &[]))
        .when_async(acheter(APOTHICAIRE, "herbe_medicinale", 2))
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrDebite {
                montant: or(prix),
                solde: or(7),
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("herbe_medicinale"),
                quantite: q(2),
                total: 2,
                cause,
            },
        ]);
}

#[tokio::test]
async fn vendre_retire_l_item_et_credite_le_prix_de_rachat() {
    let prix = prix_rachat(APOTHICAIRE, "potion_de_soin") * 2;
    let cause = Cause::Vente {
        marchand: marchand(APOTHICAIRE),
    };
    Essai::with(catalogue())
        .given(contenant(10, &[("potion_de_soin", 3)]))
        .when_async(vendre(APOTHICAIRE, "potion_de_soin", 2))
        .await
        .then_expect_events(vec![
            EvenementInventaire::ItemRetire {
                item: item("potion_de_soin"),
                quantite: q(2),
                total: 1,
                cause: cause.clone(),
            },
            EvenementInventaire::OrCredite {
                montant: or(prix),
                solde: or(10 + prix),
                cause,
            },
        ]);
}

#[tokio::test]
async fn jeter_retire_les_items() {
    Essai::with(catalogue())
        .given(contenant(0, &[("pain", 5)]))
        .when_async(jeter("pain", 2))
        .await
        .then_expect_events(vec![EvenementInventaire::ItemRetire {
            item: item("pain"),
            quantite: q(2),
            total: 3,
            cause: Cause::Destruction,
        }]);
}

fn mj() -> Cause {
    Cause::Mj {
        raison: Raison::parse("compensation d'un bogue").expect("raison"),
    }
}

#[tokio::test]
async fn un_mj_donne_de_l_or_et_des_items_meme_au_dela_de_la_capacite() {
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), 5, &[]))
        .when_async(CommandeInventaire::Donner {
            or: or(100),
            items: vec![ligne("pain", 2)],
            raison: Raison::parse("compensation d'un bogue").expect("raison"),
        })
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrCredite {
                montant: or(100),
                solde: or(105),
                cause: mj(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("pain"),
                quantite: q(2),
                total: 2,
                cause: mj(),
            },
        ]);
}

#[tokio::test]
async fn un_mj_ne_donne_pas_un_item_que_le_catalogue_ignore() {
    Essai::with(catalogue())
        .given(contenant(5, &[]))
        .when_async(CommandeInventaire::Donner {
            or: or(1),
            items: vec![ligne("licorne_doree", 1)],
            raison: Raison::parse("cadeau").expect("raison"),
        })
        .await
        .then_expect_error(ErreurInventaire::ItemInconnu(item("licorne_doree")));
}

#[tokio::test]
async fn un_mj_retire_de_l_or_et_des_items() {
    Essai::with(catalogue())
        .given(contenant(30, &[("pain", 5)]))
        .when_async(CommandeInventaire::Retirer {
            or: or(10),
            items: vec![ligne("pain", 5)],
            raison: Raison::parse("compensation d'un bogue").expect("raison"),
        })
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrDebite {
                montant: or(10),
                solde: or(20),
                cause: mj(),
            },
            EvenementInventaire::ItemRetire {
                item: item("pain"),
                quantite: q(5),
                total: 0,
                cause: mj(),
            },
        ]);
}

#[tokio::test]
async fn un_mj_ne_retire_ni_plus_qu_il_n_y_a_ni_ce_qu_un_echange_verrouille() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [reservee(1, offre(0, &[("pain", 4)]))],
        ))
        .when_async(CommandeInventaire::Retirer {
            or: or(30),
            items: vec![ligne("pain", 2)],
            raison: Raison::parse("abus").expect("raison"),
        })
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: item("pain"),
            requis: 2,
            disponible: 1,
        });
}

#[tokio::test]
async fn reserver_verrouille_l_offre_pour_l_echange() {
    Essai::with(catalogue())
        .given(contenant(30, &[("pain", 5)]))
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(1),
            offre: offre(10, &[("pain", 2)]),
        })
        .await
        .then_expect_events(vec![reservee(1, offre(10, &[("pain", 2)]))]);
}

#[tokio::test]
async fn liberer_une_reservation_la_relache() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [reservee(1, offre(10, &[("pain", 2)]))],
        ))
        .when_async(CommandeInventaire::Liberer {
            echange_id: echange(1),
        })
        .await
        .then_expect_events(vec![EvenementInventaire::ReservationLiberee {
            echange_id: echange(1),
        }]);
}

#[tokio::test]
async fn conclure_un_echange_le_regle_puis_deplace_les_biens_reserves_et_recus() {
    // Everything is reserved: the goods can only leave if settling releases the lock first.
    let donne = offre(30, &[("pain", 5)]);
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [reservee(1, donne.clone())],
        ))
        .when_async(conclure(1, donne, offre(3, &[("potion_de_soin", 1)])))
        .await
        .then_expect_events(vec![
            EvenementInventaire::EchangeRegle {
                echange_id: echange(1),
            },
            EvenementInventaire::OrDebite {
                montant: or(30),
                solde: Or::ZERO,
                cause: par_echange(1),
            },
            EvenementInventaire::ItemRetire {
                item: item("pain"),
                quantite: q(5),
                total: 0,
                cause: par_echange(1),
            },
            EvenementInventaire::OrCredite {
                montant: or(3),
                solde: or(3),
                cause: par_echange(1),
            },
            EvenementInventaire::ItemAjoute {
                item: item("potion_de_soin"),
                quantite: q(1),
                total: 1,
                cause: par_echange(1),
            },
        ]);
}

#[tokio::test]
async fn conclure_un_echange_ou_l_on_ne_donne_rien_ne_demande_pas_de_reservation() {
    Essai::with(catalogue())
        .given(contenant(30, &[]))
        .when_async(conclure(1, Offre::default(), offre(4, &[])))
        .await
        .then_expect_events(vec![
            EvenementInventaire::EchangeRegle {
                echange_id: echange(1),
            },
            EvenementInventaire::OrCredite {
                montant: or(4),
                solde: or(34),
                cause: par_echange(1),
            },
        ]);
}

// ------------------------------------------------------------------ refusals

#[tokio::test]
async fn un_inventaire_non_ouvert_refuse_toute_commande_sauf_ouvrir() {
    let commandes = [
        CommandeInventaire::RecevoirButin {
            combat_id: combat(1),
            or: or(5),
            items: vec![],
        },
        acheter(APOTHICAIRE, "pain", 1),
        jeter("pain", 1),
        CommandeInventaire::Liberer {
            echange_id: echange(1),
        },
        conclure(1, Offre::default(), offre(4, &[])),
    ];
    for commande in commandes {
        Essai::with(catalogue())
            .given_no_previous_events()
            .when_async(commande)
            .await
            .then_expect_error(ErreurInventaire::InventaireInexistant);
    }
}

#[tokio::test]
async fn ouvrir_un_inventaire_deja_ouvert_est_refuse() {
    Essai::with(catalogue())
        .given(contenant(30, &[]))
        .when_async(CommandeInventaire::Ouvrir {
            joueur_id: joueur(1),
        })
        .await
        .then_expect_error(ErreurInventaire::DejaOuvert);
}

#[tokio::test]
async fn commercer_avec_un_marchand_inconnu_est_refuse() {
    assert!(
        catalogue()
            .marchand(&marchand("marchand_fantome"))
            .is_none()
    );
    for commande in [
        acheter("marchand_fantome", "pain", 1),
        vendre("marchand_fantome", "pain", 1),
    ] {
        Essai::with(catalogue())
            .given(contenant(30, &[("pain", 5)]))
            .when_async(commande)
            .await
            .then_expect_error(ErreurInventaire::MarchandInconnu(marchand(
                "marchand_fantome",
            )));
    }
}

#[tokio::test]
async fn acheter_un_article_que_le_marchand_ne_vend_pas_est_refuse() {
    let services = catalogue();
    let forgeronne = services
        .marchand(&marchand(FORGERONNE))
        .expect("marchand du catalogue");
    // One item it only buys back, one it does not trade at all.
    let rachete_seulement = forgeronne
        .article(&item("lingot_de_fer"))
        .expect("la forgeronne rachète les lingots");
    assert!(rachete_seulement.prix_vente.is_none());
    assert!(forgeronne.article(&item("pain")).is_none());
    for i in ["lingot_de_fer", "pain"] {
        Essai::with(catalogue())
            .given(contenant(500, &[]))
            .when_async(acheter(FORGERONNE, i, 1))
            .await
            .then_expect_error(ErreurInventaire::ArticleNonVendu {
                marchand: marchand(FORGERONNE),
                item: item(i),
            });
    }
}

#[tokio::test]
async fn vendre_un_article_que_le_marchand_ne_rachete_pas_est_refuse() {
    let services = catalogue();
    let apothicaire = services
        .marchand(&marchand(APOTHICAIRE))
        .expect("marchand du catalogue");
    let vendu_seulement = apothicaire
        .article(&item("pain"))
        .expect("l'apothicaire vend du pain");
    assert!(vendu_seulement.prix_rachat.is_none());
    assert!(apothicaire.article(&item("croc_de_loup")).is_none());
    for i in ["pain", "croc_de_loup"] {
        Essai::with(catalogue())
            .given(contenant(0, &[(i, 5)]))
            .when_async(vendre(APOTHICAIRE, i, 1))
            .await
            .then_expect_error(ErreurInventaire::ArticleNonRachete {
                marchand: marchand(APOTHICAIRE),
                item: item(i),
            });
    }
}

#[tokio::test]
async fn fabriquer_une_recette_inconnue_est_refuse() {
    let inconnue: CodeRecette = code("pierre_philosophale");
    assert!(catalogue().recette(&inconnue).is_none());
    Essai::with(catalogue())
        .given(contenant(30, &[("pain", 5)]))
        .when_async(fabriquer(1, "pierre_philosophale"))
        .await
        .then_expect_error(ErreurInventaire::RecetteInconnue(inconnue));
}

#[tokio::test]
async fn acheter_sans_assez_d_or_est_refuse() {
    let prix = prix_vente(FORGERONNE, "epee_en_fer");
    Essai::with(catalogue())
        .given(contenant(prix - 1, &[]))
        .when_async(acheter(FORGERONNE, "epee_en_fer", 1))
        .await
        .then_expect_error(ErreurInventaire::OrInsuffisant {
            requis: or(prix),
            disponible: or(prix - 1),
        });
}

#[tokio::test]
async fn l_or_reserve_pour_un_echange_ne_peut_pas_etre_depense() {
    // Without the reservation the purchase would be paid with 5 pieces to spare.
    let prix = prix_vente(APOTHICAIRE, "potion_de_soin");
    Essai::with(catalogue())
        .given(avec(contenant(prix + 5, &[]), [reservee(1, offre(6, &[]))]))
        .when_async(acheter(APOTHICAIRE, "potion_de_soin", 1))
        .await
        .then_expect_error(ErreurInventaire::OrInsuffisant {
            requis: or(prix),
            disponible: or(prix - 1),
        });
}

#[tokio::test]
async fn l_or_reserve_pour_un_echange_ne_peut_pas_payer_une_fabrication() {
    let r = recette("epee_en_fer");
    let cout = r.cout.pieces();
    let possedes: Vec<(&str, u32)> = r
        .ingredients
        .iter()
        .map(|l| (l.item.as_str(), l.quantite.valeur()))
        .collect();
    Essai::with(catalogue())
        .given(avec(
            contenant(cout, &possedes),
            [reservee(1, offre(1, &[]))],
        ))
        .when_async(fabriquer(1, "epee_en_fer"))
        .await
        .then_expect_error(ErreurInventaire::OrInsuffisant {
            requis: r.cout,
            disponible: or(cout - 1),
        });
}

#[tokio::test]
async fn reserver_plus_d_or_que_ce_qui_n_est_pas_deja_reserve_est_refuse() {
    Essai::with(catalogue())
        .given(avec(contenant(30, &[]), [reservee(1, offre(20, &[]))]))
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(2),
            offre: offre(15, &[]),
        })
        .await
        .then_expect_error(ErreurInventaire::OrInsuffisant {
            requis: or(15),
            disponible: or(10),
        });
}

#[tokio::test]
async fn vendre_plus_d_items_qu_on_en_possede_est_refuse() {
    Essai::with(catalogue())
        .given(contenant(0, &[("potion_de_soin", 1)]))
        .when_async(vendre(APOTHICAIRE, "potion_de_soin", 2))
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: item("potion_de_soin"),
            requis: 2,
            disponible: 1,
        });
}

#[tokio::test]
async fn fabriquer_sans_tous_les_ingredients_est_refuse() {
    let r = recette("epee_en_fer");
    let (manquant, presents) = r.ingredients.split_last().expect("recette à ingrédients");
    assert!(
        !presents.is_empty(),
        "la recette choisie doit avoir plusieurs ingrédients"
    );
    let possedes: Vec<(&str, u32)> = presents
        .iter()
        .map(|l| (l.item.as_str(), l.quantite.valeur()))
        .collect();
    Essai::with(catalogue())
        .given(contenant(r.cout.pieces(), &possedes))
        .when_async(fabriquer(1, "epee_en_fer"))
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: manquant.item.clone(),
            requis: manquant.quantite.valeur(),
            disponible: 0,
        });
}

#[tokio::test]
async fn les_items_reserves_ne_peuvent_pas_etre_vendus() {
    Essai::with(catalogue())
        .given(avec(
            contenant(0, &[("potion_de_soin", 3)]),
            [reservee(1, offre(0, &[("potion_de_soin", 2)]))],
        ))
        .when_async(vendre(APOTHICAIRE, "potion_de_soin", 2))
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: item("potion_de_soin"),
            requis: 2,
            disponible: 1,
        });
}

#[tokio::test]
async fn les_items_reserves_ne_peuvent_pas_etre_jetes() {
    Essai::with(catalogue())
        .given(avec(
            contenant(0, &[("pain", 5)]),
            [reservee(1, offre(0, &[("pain", 4)]))],
        ))
        .when_async(jeter("pain", 2))
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: item("pain"),
            requis: 2,
            disponible: 1,
        });
}

#[tokio::test]
async fn les_items_reserves_ne_peuvent_pas_servir_a_fabriquer() {
    let r = recette("lingot_de_fer");
    let [ingredient] = r.ingredients.as_slice() else {
        panic!("la recette choisie doit avoir un seul ingrédient");
    };
    let n = ingredient.quantite.valeur();
    let minerai = ingredient.item.as_str();
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[(minerai, n)]),
            [reservee(1, offre(0, &[(minerai, 1)]))],
        ))
        .when_async(fabriquer(1, "lingot_de_fer"))
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: ingredient.item.clone(),
            requis: n,
            disponible: n - 1,
        });
}

#[tokio::test]
async fn reserver_des_items_deja_reserves_pour_un_autre_echange_est_refuse() {
    Essai::with(catalogue())
        .given(avec(
            contenant(0, &[("pain", 5)]),
            [reservee(1, offre(0, &[("pain", 4)]))],
        ))
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(2),
            offre: offre(0, &[("pain", 2)]),
        })
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: item("pain"),
            requis: 2,
            disponible: 1,
        });
}

#[tokio::test]
async fn acheter_au_dela_de_la_capacite_est_refuse() {
    let prix = prix_vente(APOTHICAIRE, "herbe_medicinale");
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), prix, &[]))
        .when_async(acheter(APOTHICAIRE, "herbe_medicinale", 1))
        .await
        .then_expect_error(ErreurInventaire::InventairePlein {
            capacite: capacite(),
            necessaire: capacite() + 1,
        });
}

#[tokio::test]
async fn acheter_plus_d_une_pile_occupe_plusieurs_emplacements() {
    let n = pile("herbe_medicinale") + 1;
    let prix = prix_vente(APOTHICAIRE, "herbe_medicinale") * u64::from(n);
    Essai::with(catalogue())
        .given(sac_rempli(capacite() - 1, prix, &[]))
        .when_async(acheter(APOTHICAIRE, "herbe_medicinale", n))
        .await
        .then_expect_error(ErreurInventaire::InventairePlein {
            capacite: capacite(),
            necessaire: capacite() + 1,
        });
}

#[tokio::test]
async fn fabriquer_au_dela_de_la_capacite_est_refuse() {
    // The ingredients' stack is not emptied, so the product needs a slot of its own.
    let r = recette("lingot_de_fer");
    let [ingredient] = r.ingredients.as_slice() else {
        panic!("la recette choisie doit avoir un seul ingrédient");
    };
    let minerai = ingredient.item.as_str();
    let n = 2 * ingredient.quantite.valeur();
    assert!(n <= pile(minerai));
    Essai::with(catalogue())
        .given(sac_rempli(capacite() - 1, 0, &[(minerai, n)]))
        .when_async(fabriquer(1, "lingot_de_fer"))
        .await
        .then_expect_error(ErreurInventaire::InventairePlein {
            capacite: capacite(),
            necessaire: capacite() + 1,
        });
}

#[tokio::test]
async fn acheter_jusqu_a_remplir_exactement_le_sac_est_accepte() {
    let prix = prix_vente(APOTHICAIRE, "herbe_medicinale");
    let cause = Cause::Achat {
        marchand: marchand(APOTHICAIRE),
    };
    Essai::with(catalogue())
        .given(sac_rempli(capacite() - 1, prix, &[]))
        .when_async(acheter(APOTHICAIRE, "herbe_medicinale", 1))
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrDebite {
                montant: or(prix),
                solde: Or::ZERO,
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("herbe_medicinale"),
                quantite: q(1),
                total: 1,
                cause,
            },
        ]);
}

#[tokio::test]
async fn acheter_dans_une_pile_entamee_d_un_sac_plein_est_accepte() {
    assert!(pile("herbe_medicinale") >= 2);
    let prix = prix_vente(APOTHICAIRE, "herbe_medicinale");
    let cause = Cause::Achat {
        marchand: marchand(APOTHICAIRE),
    };
    Essai::with(catalogue())
        .given(sac_rempli(capacite() - 1, prix, &[("herbe_medicinale", 1)]))
        .when_async(acheter(APOTHICAIRE, "herbe_medicinale", 1))
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrDebite {
                montant: or(prix),
                solde: Or::ZERO,
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("herbe_medicinale"),
                quantite: q(1),
                total: 2,
                cause,
            },
        ]);
}

#[tokio::test]
async fn un_montant_d_or_au_dela_de_ce_que_le_jeu_sait_compter_est_refuse() {
    Essai::with(catalogue())
        .given(contenant(30, &[]))
        .when_async(CommandeInventaire::RecevoirButin {
            combat_id: combat(1),
            or: Or::new(u64::MAX),
            items: vec![],
        })
        .await
        .then_expect_error(ErreurInventaire::MontantTropGrand);
}

#[tokio::test]
async fn reserver_pour_un_echange_deja_regle_est_refuse() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[]),
            [EvenementInventaire::EchangeRegle {
                echange_id: echange(1),
            }],
        ))
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(1),
            offre: offre(5, &[]),
        })
        .await
        .then_expect_error(ErreurInventaire::EchangeClos(echange(1)));
}

#[tokio::test]
async fn conclure_un_echange_sans_reservation_est_refuse() {
    Essai::with(catalogue())
        .given(contenant(30, &[]))
        .when_async(conclure(1, offre(5, &[]), Offre::default()))
        .await
        .then_expect_error(ErreurInventaire::ReservationInconnue(echange(1)));
}

#[tokio::test]
async fn conclure_un_echange_annule_ne_deplace_rien() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[]),
            [
                reservee(1, offre(5, &[])),
                EvenementInventaire::ReservationLiberee {
                    echange_id: echange(1),
                },
            ],
        ))
        .when_async(conclure(1, offre(5, &[]), offre(3, &[])))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn conclure_un_echange_avec_une_offre_jamais_reservee_est_refuse() {
    for donne in [offre(10, &[]), offre(5, &[("pain", 1)])] {
        Essai::with(catalogue())
            .given(avec(
                contenant(30, &[("pain", 5)]),
                [reservee(1, offre(5, &[]))],
            ))
            .when_async(conclure(1, donne, offre(1, &[])))
            .await
            .then_expect_error(ErreurInventaire::ReservationDifferente(echange(1)));
    }
}

#[tokio::test]
async fn conclure_avec_une_ancienne_offre_reservee_est_accepte() {
    // The side changed its offer, but the trade concluded with the earlier one (the change
    // lost the race): that offer is still locked, so it settles.
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [
                reservee(1, offre(5, &[])),
                reservee(1, offre(0, &[("pain", 2)])),
            ],
        ))
        .when_async(conclure(1, offre(5, &[]), offre(0, &[("croc_de_loup", 1)])))
        .await
        .then_expect_events(vec![
            EvenementInventaire::EchangeRegle {
                echange_id: echange(1),
            },
            EvenementInventaire::OrDebite {
                montant: or(5),
                solde: or(25),
                cause: par_echange(1),
            },
            EvenementInventaire::ItemAjoute {
                item: item("croc_de_loup"),
                quantite: q(1),
                total: 1,
                cause: par_echange(1),
            },
        ]);
}

#[tokio::test]
async fn ne_rien_donner_se_conclut_meme_apres_avoir_reserve_une_offre() {
    Essai::with(catalogue())
        .given(avec(contenant(30, &[]), [reservee(1, offre(5, &[]))]))
        .when_async(conclure(1, Offre::default(), offre(2, &[])))
        .await
        .then_expect_events(vec![
            EvenementInventaire::EchangeRegle {
                echange_id: echange(1),
            },
            EvenementInventaire::OrCredite {
                montant: or(2),
                solde: or(32),
                cause: par_echange(1),
            },
        ]);
}

#[tokio::test]
async fn le_meme_butin_recu_deux_fois_n_est_credite_qu_une_fois() {
    let butin = |n| CommandeInventaire::RecevoirButin {
        combat_id: combat(n),
        or: or(4),
        items: vec![ligne("croc_de_loup", 1)],
    };
    let cause = Cause::Butin {
        combat_id: combat(1),
    };
    let historique = avec(
        contenant(30, &[]),
        [
            EvenementInventaire::OrCredite {
                montant: or(4),
                solde: or(34),
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("croc_de_loup"),
                quantite: q(1),
                total: 1,
                cause,
            },
        ],
    );
    Essai::with(catalogue())
        .given(historique.clone())
        .when_async(butin(1))
        .await
        .then_expect_events(vec![]);

    let autre = Cause::Butin {
        combat_id: combat(2),
    };
    Essai::with(catalogue())
        .given(historique)
        .when_async(butin(2))
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrCredite {
                montant: or(4),
                solde: or(38),
                cause: autre.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("croc_de_loup"),
                quantite: q(1),
                total: 2,
                cause: autre,
            },
        ]);
}

#[tokio::test]
async fn la_meme_recompense_de_quete_recue_deux_fois_n_est_creditee_qu_une_fois() {
    let rec = recompense("premier_lingot");
    assert!(!rec.or.est_nul());
    let cause = Cause::RecompenseQuete {
        quete: code("premier_lingot"),
    };
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[]),
            [EvenementInventaire::OrCredite {
                montant: rec.or,
                solde: or(30 + rec.or.pieces()),
                cause,
            }],
        ))
        .when_async(CommandeInventaire::RecevoirRecompense {
            quete: code("premier_lingot"),
            or: rec.or,
            items: rec.items,
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn la_meme_fabrication_demandee_deux_fois_ne_fabrique_qu_une_fois() {
    let r = recette("lingot_de_fer");
    let [ingredient] = r.ingredients.as_slice() else {
        panic!("la recette choisie doit avoir un seul ingrédient");
    };
    let n = ingredient.quantite.valeur();
    let cause = fabrication_de(1, "lingot_de_fer");
    // Enough ore for two ingots; the first was already cast by operation 1.
    let historique = avec(
        contenant(0, &[(ingredient.item.as_str(), 2 * n)]),
        [
            EvenementInventaire::ItemRetire {
                item: ingredient.item.clone(),
                quantite: ingredient.quantite,
                total: n,
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: r.produit.item.clone(),
                quantite: r.produit.quantite,
                total: r.produit.quantite.valeur(),
                cause,
            },
            EvenementInventaire::ObjetFabrique {
                fabrication_id: fabrication(1),
                recette: code("lingot_de_fer"),
                item: r.produit.item.clone(),
                quantite: r.produit.quantite,
            },
        ],
    );
    Essai::with(catalogue())
        .given(historique.clone())
        .when_async(fabriquer(1, "lingot_de_fer"))
        .await
        .then_expect_events(vec![]);

    let autre = fabrication_de(2, "lingot_de_fer");
    Essai::with(catalogue())
        .given(historique)
        .when_async(fabriquer(2, "lingot_de_fer"))
        .await
        .then_expect_events(vec![
            EvenementInventaire::ItemRetire {
                item: ingredient.item.clone(),
                quantite: ingredient.quantite,
                total: 0,
                cause: autre.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: r.produit.item.clone(),
                quantite: r.produit.quantite,
                total: 2 * r.produit.quantite.valeur(),
                cause: autre,
            },
            EvenementInventaire::ObjetFabrique {
                fabrication_id: fabrication(2),
                recette: code("lingot_de_fer"),
                item: r.produit.item.clone(),
                quantite: r.produit.quantite,
            },
        ]);
}

#[tokio::test]
async fn le_meme_reglement_d_echange_applique_deux_fois_ne_deplace_rien_la_seconde_fois() {
    let donne = offre(10, &[("pain", 2)]);
    let recu = offre(0, &[("potion_de_soin", 1)]);
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [
                reservee(1, donne.clone()),
                EvenementInventaire::EchangeRegle {
                    echange_id: echange(1),
                },
                EvenementInventaire::OrDebite {
                    montant: or(10),
                    solde: or(20),
                    cause: par_echange(1),
                },
                EvenementInventaire::ItemRetire {
                    item: item("pain"),
                    quantite: q(2),
                    total: 3,
                    cause: par_echange(1),
                },
                EvenementInventaire::ItemAjoute {
                    item: item("potion_de_soin"),
                    quantite: q(1),
                    total: 1,
                    cause: par_echange(1),
                },
            ],
        ))
        .when_async(conclure(1, donne, recu))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn un_butin_qui_deborde_du_sac_est_credite_quand_meme() {
    let cause = Cause::Butin {
        combat_id: combat(1),
    };
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), 0, &[]))
        .when_async(CommandeInventaire::RecevoirButin {
            combat_id: combat(1),
            or: or(3),
            items: vec![ligne("croc_de_loup", 1)],
        })
        .await
        .then_expect_events(vec![
            EvenementInventaire::OrCredite {
                montant: or(3),
                solde: or(3),
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: item("croc_de_loup"),
                quantite: q(1),
                total: 1,
                cause,
            },
        ]);
}

#[tokio::test]
async fn une_recompense_qui_deborde_du_sac_est_creditee_quand_meme() {
    let rec = recompense("chasse_aux_loups");
    assert!(
        rec.items.iter().any(|l| l.item != item("peau_de_loup")),
        "la récompense doit apporter un item qui demande un nouvel emplacement"
    );
    let cause = Cause::RecompenseQuete {
        quete: code("chasse_aux_loups"),
    };
    assert!(!rec.or.est_nul());
    let mut attendus = vec![EvenementInventaire::OrCredite {
        montant: rec.or,
        solde: rec.or,
        cause: cause.clone(),
    }];
    let plein = pile("peau_de_loup") * capacite();
    let mut totaux = BTreeMap::from([(item("peau_de_loup"), plein)]);
    for l in &rec.items {
        let total = totaux.entry(l.item.clone()).or_default();
        *total += l.quantite.valeur();
        attendus.push(EvenementInventaire::ItemAjoute {
            item: l.item.clone(),
            quantite: l.quantite,
            total: *total,
            cause: cause.clone(),
        });
    }
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), 0, &[]))
        .when_async(CommandeInventaire::RecevoirRecompense {
            quete: code("chasse_aux_loups"),
            or: rec.or,
            items: rec.items.clone(),
        })
        .await
        .then_expect_events(attendus);
}

#[tokio::test]
async fn un_echange_qui_deborde_du_sac_est_regle_quand_meme() {
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), 0, &[]))
        .when_async(conclure(
            1,
            Offre::default(),
            offre(0, &[("croc_de_loup", 1)]),
        ))
        .await
        .then_expect_events(vec![
            EvenementInventaire::EchangeRegle {
                echange_id: echange(1),
            },
            EvenementInventaire::ItemAjoute {
                item: item("croc_de_loup"),
                quantite: q(1),
                total: 1,
                cause: par_echange(1),
            },
        ]);
}

#[tokio::test]
async fn un_sac_deborde_refuse_un_achat_qui_demande_un_emplacement_de_plus() {
    let prix = prix_vente(APOTHICAIRE, "herbe_medicinale");
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), prix, &[("croc_de_loup", 1)]))
        .when_async(acheter(APOTHICAIRE, "herbe_medicinale", 1))
        .await
        .then_expect_error(ErreurInventaire::InventairePlein {
            capacite: capacite(),
            necessaire: capacite() + 2,
        });
}

#[tokio::test]
async fn un_sac_deborde_accepte_une_vente() {
    // The bag is still over capacity after the sale: selling is never refused for room.
    let prix = prix_rachat("trappeur_gaspard", "peau_de_loup");
    let cause = Cause::Vente {
        marchand: marchand("trappeur_gaspard"),
    };
    let plein = pile("peau_de_loup") * capacite();
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), 0, &[("croc_de_loup", 1)]))
        .when_async(vendre("trappeur_gaspard", "peau_de_loup", 1))
        .await
        .then_expect_events(vec![
            EvenementInventaire::ItemRetire {
                item: item("peau_de_loup"),
                quantite: q(1),
                total: plein - 1,
                cause: cause.clone(),
            },
            EvenementInventaire::OrCredite {
                montant: or(prix),
                solde: or(prix),
                cause,
            },
        ]);
}

#[tokio::test]
async fn un_sac_deborde_accepte_une_fabrication_qui_ne_demande_pas_plus_de_place() {
    // One ingredient stack more than full: crafting empties it as the product takes a slot.
    let r = recette("lingot_de_fer");
    let [ingredient] = r.ingredients.as_slice() else {
        panic!("la recette choisie doit avoir un seul ingrédient");
    };
    let minerai = ingredient.item.as_str();
    let n = ingredient.quantite.valeur();
    assert!(r.produit.quantite.valeur() <= pile(r.produit.item.as_str()));
    let cause = fabrication_de(1, "lingot_de_fer");
    Essai::with(catalogue())
        .given(sac_rempli(capacite(), 0, &[(minerai, pile(minerai) + n)]))
        .when_async(fabriquer(1, "lingot_de_fer"))
        .await
        .then_expect_events(vec![
            EvenementInventaire::ItemRetire {
                item: ingredient.item.clone(),
                quantite: ingredient.quantite,
                total: pile(minerai),
                cause: cause.clone(),
            },
            EvenementInventaire::ItemAjoute {
                item: r.produit.item.clone(),
                quantite: r.produit.quantite,
                total: r.produit.quantite.valeur(),
                cause,
            },
            EvenementInventaire::ObjetFabrique {
                fabrication_id: fabrication(1),
                recette: code("lingot_de_fer"),
                item: r.produit.item.clone(),
                quantite: r.produit.quantite,
            },
        ]);
}

#[tokio::test]
async fn reserver_a_nouveau_pour_le_meme_echange_ne_compte_pas_l_ancienne_reservation() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [reservee(1, offre(20, &[("pain", 4)]))],
        ))
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(1),
            offre: offre(30, &[("pain", 5)]),
        })
        .await
        .then_expect_events(vec![reservee(1, offre(30, &[("pain", 5)]))]);
}

#[tokio::test]
async fn une_offre_changee_garde_l_ancienne_verrouillee_jusqu_a_la_fin_de_l_echange() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [
                reservee(1, offre(0, &[("pain", 5)])),
                reservee(1, offre(0, &[("pain", 1)])),
            ],
        ))
        .when_async(jeter("pain", 4))
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: item("pain"),
            requis: 4,
            disponible: 0,
        });
}

#[tokio::test]
async fn le_verrou_d_un_echange_est_le_maximum_de_ses_offres() {
    let historique = avec(
        contenant(30, &[("pain", 5)]),
        [
            reservee(1, offre(20, &[("pain", 1)])),
            reservee(1, offre(5, &[("pain", 4)])),
        ],
    );
    Essai::with(catalogue())
        .given(historique.clone())
        .when_async(jeter("pain", 2))
        .await
        .then_expect_error(ErreurInventaire::ItemsInsuffisants {
            item: item("pain"),
            requis: 2,
            disponible: 1,
        });
    Essai::with(catalogue())
        .given(historique)
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(2),
            offre: offre(11, &[]),
        })
        .await
        .then_expect_error(ErreurInventaire::OrInsuffisant {
            requis: or(11),
            disponible: or(10),
        });
}

#[tokio::test]
async fn reserver_une_offre_deja_reservee_ne_change_rien() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [reservee(1, offre(20, &[("pain", 4)]))],
        ))
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(1),
            offre: offre(20, &[("pain", 4)]),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn une_reservation_liberee_rend_ses_biens_disponibles() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[("pain", 5)]),
            [
                reservee(1, offre(30, &[("pain", 5)])),
                EvenementInventaire::ReservationLiberee {
                    echange_id: echange(1),
                },
            ],
        ))
        .when_async(jeter("pain", 5))
        .await
        .then_expect_events(vec![EvenementInventaire::ItemRetire {
            item: item("pain"),
            quantite: q(5),
            total: 0,
            cause: Cause::Destruction,
        }]);
}

#[tokio::test]
async fn liberer_un_echange_jamais_reserve_le_clot_quand_meme() {
    Essai::with(catalogue())
        .given(contenant(30, &[("pain", 5)]))
        .when_async(CommandeInventaire::Liberer {
            echange_id: echange(1),
        })
        .await
        .then_expect_events(vec![EvenementInventaire::ReservationLiberee {
            echange_id: echange(1),
        }]);
}

#[tokio::test]
async fn liberer_un_echange_deja_clos_n_emet_rien() {
    let clos = [
        EvenementInventaire::ReservationLiberee {
            echange_id: echange(1),
        },
        EvenementInventaire::EchangeRegle {
            echange_id: echange(1),
        },
    ];
    for fin in clos {
        Essai::with(catalogue())
            .given(avec(
                contenant(30, &[("pain", 5)]),
                [reservee(1, offre(5, &[])), fin],
            ))
            .when_async(CommandeInventaire::Liberer {
                echange_id: echange(1),
            })
            .await
            .then_expect_events(vec![]);
    }
}

#[tokio::test]
async fn une_reservation_tardive_pour_un_echange_annule_est_refusee() {
    Essai::with(catalogue())
        .given(avec(
            contenant(30, &[]),
            [EvenementInventaire::ReservationLiberee {
                echange_id: echange(1),
            }],
        ))
        .when_async(CommandeInventaire::Reserver {
            echange_id: echange(1),
            offre: offre(5, &[]),
        })
        .await
        .then_expect_error(ErreurInventaire::EchangeClos(echange(1)));
}
