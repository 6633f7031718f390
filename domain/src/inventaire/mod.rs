//! **Inventaire**: a character's gold and items (one per character, same id).
//!
//! Every movement is an event naming its cause and carrying the balance after it, which makes
//! the economy ledger a plain projection. Gold and counts never go below zero; gold and items
//! locked in a trade (reservations) cannot be spent elsewhere. A player's own action (buying,
//! crafting) may not take the inventory past its capacity; what the game gives (loot, quest
//! rewards, a concluded trade) is never refused nor lost, even if it overfills the bag, which
//! then refuses any operation needing more room until room is made. Credits from outside are
//! idempotent by their natural key (the combat, the quest, the trade, the crafting operation).
//!
//! Escrow: every offer a side makes in a trade is reserved here *before* the trade records it,
//! and stays reserved until the trade ends, the lock being the most any of them asks. Whatever
//! the order in which concurrent offer changes and the conclusion land, the offer the trade
//! concludes with is one that was reserved, so settling it cannot fail for lack of goods. A
//! settled or cancelled trade is closed: a late reservation for it is refused.

mod mouvements;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, LigneItem};
use crate::echange::Offre;
use crate::ids::{CombatId, EchangeId, FabricationId, JoueurId};
use crate::valeurs::{
    CodeItem, CodeMarchand, CodeQuete, CodeRecette, CodeZone, Or, Quantite, Raison,
};
use crate::{Services, emettre, evenement_de_domaine};
use mouvements::Mouvements;

/// Why gold or items moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Cause {
    /// A new character's starting gold and items.
    KitDeDepart,
    /// Loot of a won combat.
    Butin {
        /// The combat.
        combat_id: CombatId,
    },
    /// Reward of a completed quest.
    RecompenseQuete {
        /// The quest.
        quete: CodeQuete,
    },
    /// Crafting: ingredients and cost out, product in.
    Fabrication {
        /// The operation.
        fabrication_id: FabricationId,
        /// The recipe.
        recette: CodeRecette,
    },
    /// Bought from a merchant: gold out, item in.
    Achat {
        /// The merchant.
        marchand: CodeMarchand,
    },
    /// Sold to a merchant: item out, gold in.
    Vente {
        /// The merchant.
        marchand: CodeMarchand,
    },
    /// Thrown away by the player.
    Destruction,
    /// A concluded trade.
    Echange {
        /// The trade.
        echange_id: EchangeId,
        /// The other trader.
        avec: JoueurId,
    },
    /// Granted or removed by a game master (the author is the event's account): a source and
    /// a sink of its own in the economy's books.
    Mj {
        /// Why.
        raison: Raison,
    },
}

/// The natural key of an operation that must happen once.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CleOperation {
    /// Loot of a combat.
    Butin(CombatId),
    /// Reward of a quest.
    Quete(CodeQuete),
    /// A crafting operation.
    Fabrication(FabricationId),
    /// A trade's settlement.
    Echange(EchangeId),
}

impl Cause {
    /// The operation this movement belongs to, when it must happen once.
    pub fn cle(&self) -> Option<CleOperation> {
        match self {
            Self::Butin { combat_id } => Some(CleOperation::Butin(*combat_id)),
            Self::RecompenseQuete { quete } => Some(CleOperation::Quete(quete.clone())),
            Self::Fabrication { fabrication_id, .. } => {
                Some(CleOperation::Fabrication(*fabrication_id))
            }
            Self::Echange { echange_id, .. } => Some(CleOperation::Echange(*echange_id)),
            Self::KitDeDepart
            | Self::Achat { .. }
            | Self::Vente { .. }
            | Self::Destruction
            | Self::Mj { .. } => None,
        }
    }
}

/// What can be asked of an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandeInventaire {
    /// Opens a new character's inventory with the starting kit.
    Ouvrir {
        /// The character.
        joueur_id: JoueurId,
    },
    /// Credits a combat's loot (once per combat).
    RecevoirButin {
        /// The combat.
        combat_id: CombatId,
        /// Gold looted.
        or: Or,
        /// Items looted.
        items: Vec<LigneItem>,
    },
    /// Credits a quest's reward (once per quest).
    RecevoirRecompense {
        /// The quest.
        quete: CodeQuete,
        /// Gold.
        or: Or,
        /// Items.
        items: Vec<LigneItem>,
    },
    /// Crafts a recipe once (once per operation id).
    Fabriquer {
        /// The operation's id.
        fabrication_id: FabricationId,
        /// The recipe.
        recette: CodeRecette,
    },
    /// Buys from a merchant. The command side checks the character stands in its zone.
    Acheter {
        /// The merchant.
        marchand: CodeMarchand,
        /// The item.
        item: CodeItem,
        /// How many.
        quantite: Quantite,
    },
    /// Sells to a merchant.
    Vendre {
        /// The merchant.
        marchand: CodeMarchand,
        /// The item.
        item: CodeItem,
        /// How many.
        quantite: Quantite,
    },
    /// A game master grants gold and items. Never refused for room (like loot), only for an
    /// item the catalog does not know.
    Donner {
        /// Gold.
        or: Or,
        /// Items.
        items: Vec<LigneItem>,
        /// Why.
        raison: Raison,
    },
    /// A game master removes gold and items, all or nothing: what is locked in a trade stays.
    Retirer {
        /// Gold.
        or: Or,
        /// Items.
        items: Vec<LigneItem>,
        /// Why.
        raison: Raison,
    },
    /// Throws items away.
    Jeter {
        /// The item.
        item: CodeItem,
        /// How many.
        quantite: Quantite,
    },
    /// Locks one more offer for a trade (before the trade records it). The trade's earlier
    /// offers stay locked until it ends; reserving an offer already reserved changes nothing.
    Reserver {
        /// The trade.
        echange_id: EchangeId,
        /// What is offered.
        offre: Offre,
    },
    /// The trade was cancelled: releases its reservations and closes it here (nothing happens
    /// if it is already closed).
    Liberer {
        /// The trade.
        echange_id: EchangeId,
    },
    /// Settles a concluded trade: gives the reserved offer, receives the other's (once per
    /// trade).
    ConclureEchange {
        /// The trade.
        echange_id: EchangeId,
        /// The other trader.
        avec: JoueurId,
        /// What this side gives: one of the offers it reserved (or nothing).
        donne: Offre,
        /// What it receives.
        recu: Offre,
    },
}

/// What happened to an inventory.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
pub enum EvenementInventaire {
    /// The inventory was opened (empty; the kit follows as movements).
    InventaireOuvert {
        /// The character.
        joueur_id: JoueurId,
    },
    /// Gold came in.
    OrCredite {
        /// How much.
        montant: Or,
        /// Balance after.
        solde: Or,
        /// Why.
        cause: Cause,
    },
    /// Gold went out.
    OrDebite {
        /// How much.
        montant: Or,
        /// Balance after.
        solde: Or,
        /// Why.
        cause: Cause,
    },
    /// Items came in.
    ItemAjoute {
        /// Which item.
        item: CodeItem,
        /// How many.
        quantite: Quantite,
        /// Count after.
        total: u32,
        /// Why.
        cause: Cause,
    },
    /// Items went out.
    ItemRetire {
        /// Which item.
        item: CodeItem,
        /// How many.
        quantite: Quantite,
        /// Count after.
        total: u32,
        /// Why.
        cause: Cause,
    },
    /// An item was crafted (for quest progress; the movements are beside it).
    ObjetFabrique {
        /// The operation.
        fabrication_id: FabricationId,
        /// The recipe.
        recette: CodeRecette,
        /// The product.
        item: CodeItem,
        /// How many.
        quantite: Quantite,
    },
    /// One more offer was locked for a trade.
    OffreReservee {
        /// The trade.
        echange_id: EchangeId,
        /// What is locked.
        offre: Offre,
    },
    /// A cancelled trade's reservations were released; the trade is closed here.
    ReservationLiberee {
        /// The trade.
        echange_id: EchangeId,
    },
    /// A trade was settled on this side: its reservation is released and the movements follow.
    EchangeRegle {
        /// The trade.
        echange_id: EchangeId,
    },
}

evenement_de_domaine!(EvenementInventaire, Inventaire);

/// Why a command on an inventory was refused.
///
/// Each refusal has a stable code, its variant's name in SCREAMING_SNAKE_CASE
/// (`InventairePlein` → `INVENTAIRE_PLEIN`): clients match on it, so renaming a variant is a
/// protocol change.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErreurInventaire {
    /// Any command but `Ouvrir` on an inventory not opened.
    #[error("cet inventaire n'existe pas")]
    InventaireInexistant,
    /// `Ouvrir` twice.
    #[error("cet inventaire est déjà ouvert")]
    DejaOuvert,
    /// The merchant is not in the catalog.
    #[error("marchand inconnu « {0} »")]
    MarchandInconnu(CodeMarchand),
    /// The merchant stands in another zone than the character (checked by the command side,
    /// which knows where characters stand).
    #[error("{marchand} se tient en « {zone_marchand} », le personnage est en « {zone} »")]
    MarchandAilleurs {
        /// The merchant.
        marchand: CodeMarchand,
        /// Where the merchant stands.
        zone_marchand: CodeZone,
        /// Where the character stands.
        zone: CodeZone,
    },
    /// The merchant does not sell this item.
    #[error("{marchand} ne vend pas « {item} »")]
    ArticleNonVendu {
        /// The merchant.
        marchand: CodeMarchand,
        /// The item.
        item: CodeItem,
    },
    /// The merchant does not buy this item.
    #[error("{marchand} ne rachète pas « {item} »")]
    ArticleNonRachete {
        /// The merchant.
        marchand: CodeMarchand,
        /// The item.
        item: CodeItem,
    },
    /// The recipe is not in the catalog.
    #[error("recette inconnue « {0} »")]
    RecetteInconnue(CodeRecette),
    /// Not enough gold (gold locked in trades does not count).
    #[error("or insuffisant : {requis} requis, {disponible} disponible")]
    OrInsuffisant {
        /// Needed.
        requis: Or,
        /// Available.
        disponible: Or,
    },
    /// Not enough of an item (items locked in trades do not count).
    #[error("« {item} » insuffisant : {requis} requis, {disponible} disponible")]
    ItemsInsuffisants {
        /// The item.
        item: CodeItem,
        /// Needed.
        requis: u32,
        /// Available.
        disponible: u32,
    },
    /// The operation would need more slots than the bag has.
    #[error("inventaire plein : {necessaire} emplacements nécessaires pour {capacite}")]
    InventairePlein {
        /// The bag's slots.
        capacite: u32,
        /// Slots the result would need.
        necessaire: u32,
    },
    /// An item the catalog does not know (a game master's grant).
    #[error("item inconnu « {0} »")]
    ItemInconnu(CodeItem),
    /// An amount beyond what the game can count.
    #[error("montant trop grand")]
    MontantTropGrand,
    /// `Reserver` for a trade already settled or cancelled.
    #[error("l'échange {0} est clos")]
    EchangeClos(EchangeId),
    /// `ConclureEchange` with an offer that was never reserved.
    #[error("aucune réservation pour l'échange {0}")]
    ReservationInconnue(EchangeId),
    /// `ConclureEchange` with an offer that is not one of those reserved.
    #[error("l'offre à livrer pour l'échange {0} n'a pas été réservée")]
    ReservationDifferente(EchangeId),
}

/// The content of an opened inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContenuInventaire {
    /// The owner.
    pub joueur_id: JoueurId,
    /// Gold held (reserved gold included).
    pub or: Or,
    /// Item counts (reserved items included); no zero entries.
    pub items: BTreeMap<CodeItem, u32>,
    /// Offers locked in open trades, every offer each trade was given.
    pub reservations: BTreeMap<EchangeId, Vec<Offre>>,
    /// Operations already done once (a closed trade is one).
    pub operations: BTreeSet<CleOperation>,
}

impl ContenuInventaire {
    fn vide(joueur_id: JoueurId) -> Self {
        Self {
            joueur_id,
            or: Or::ZERO,
            items: BTreeMap::new(),
            reservations: BTreeMap::new(),
            operations: BTreeSet::new(),
        }
    }

    /// Slots used, given each item's stack size.
    pub fn emplacements(&self, catalogue: &Catalogue) -> u32 {
        emplacements(&self.items, catalogue)
    }
}

/// Slots a set of counts needs: one per started stack.
fn emplacements(items: &BTreeMap<CodeItem, u32>, catalogue: &Catalogue) -> u32 {
    items
        .iter()
        .map(|(item, &n)| {
            let pile = catalogue.item(item).map_or(1, |d| d.pile_max.max(1));
            n.div_ceil(pile)
        })
        .sum()
}

/// The `Inventaire` aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Inventaire {
    contenu: Option<ContenuInventaire>,
}

impl Inventaire {
    /// The content, once opened.
    pub fn contenu(&self) -> Option<&ContenuInventaire> {
        self.contenu.as_ref()
    }

    fn decider(
        &self,
        commande: CommandeInventaire,
        catalogue: &Catalogue,
    ) -> Result<Vec<EvenementInventaire>, ErreurInventaire> {
        let Some(contenu) = &self.contenu else {
            return match commande {
                CommandeInventaire::Ouvrir { joueur_id } => {
                    let vide = ContenuInventaire::vide(joueur_id);
                    let mut m = Mouvements::depuis(&vide);
                    m.evenement(EvenementInventaire::InventaireOuvert { joueur_id });
                    let regles = catalogue.regles();
                    m.crediter(regles.or_depart, &Cause::KitDeDepart)?;
                    m.ajouter_tout(&regles.kit_depart, &Cause::KitDeDepart);
                    Ok(m.fin())
                }
                _ => Err(ErreurInventaire::InventaireInexistant),
            };
        };
        let mut m = Mouvements::depuis(contenu);
        match commande {
            CommandeInventaire::Ouvrir { .. } => return Err(ErreurInventaire::DejaOuvert),
            CommandeInventaire::RecevoirButin {
                combat_id,
                or,
                items,
            } => {
                let cause = Cause::Butin { combat_id };
                if m.deja_fait(&cause) {
                    return Ok(vec![]);
                }
                m.crediter(or, &cause)?;
                m.ajouter_tout(&items, &cause);
            }
            CommandeInventaire::RecevoirRecompense { quete, or, items } => {
                let cause = Cause::RecompenseQuete { quete };
                if m.deja_fait(&cause) {
                    return Ok(vec![]);
                }
                m.crediter(or, &cause)?;
                m.ajouter_tout(&items, &cause);
            }
            CommandeInventaire::Fabriquer {
                fabrication_id,
                recette,
            } => fabriquer(&mut m, catalogue, fabrication_id, recette)?,
            CommandeInventaire::Acheter {
                marchand,
                item,
                quantite,
            } => {
                let prix = prix(catalogue, &marchand, &item, quantite, Sens::Achat)?;
                let cause = Cause::Achat { marchand };
                m.debiter(prix, &cause)?;
                m.ajouter(&item, quantite, &cause);
                m.place_suffisante(catalogue)?;
            }
            CommandeInventaire::Vendre {
                marchand,
                item,
                quantite,
            } => {
                let prix = prix(catalogue, &marchand, &item, quantite, Sens::Vente)?;
                let cause = Cause::Vente { marchand };
                m.retirer(&item, quantite, &cause)?;
                m.crediter(prix, &cause)?;
            }
            CommandeInventaire::Donner { or, items, raison } => {
                donner(&mut m, catalogue, or, &items, raison)?;
            }
            CommandeInventaire::Retirer { or, items, raison } => {
                let cause = Cause::Mj { raison };
                m.debiter(or, &cause)?;
                for l in &items {
                    m.retirer(&l.item, l.quantite, &cause)?;
                }
            }
            CommandeInventaire::Jeter { item, quantite } => {
                m.retirer(&item, quantite, &Cause::Destruction)?;
            }
            CommandeInventaire::Reserver { echange_id, offre } => {
                if contenu
                    .operations
                    .contains(&CleOperation::Echange(echange_id))
                {
                    return Err(ErreurInventaire::EchangeClos(echange_id));
                }
                m.reserver(echange_id, offre)?;
            }
            CommandeInventaire::Liberer { echange_id } => {
                // Closing a trade never reserved here still matters: a reservation arriving
                // late for it must be refused.
                if !contenu
                    .operations
                    .contains(&CleOperation::Echange(echange_id))
                {
                    m.evenement(EvenementInventaire::ReservationLiberee { echange_id });
                }
            }
            CommandeInventaire::ConclureEchange {
                echange_id,
                avec,
                donne,
                recu,
            } => conclure_echange(&mut m, contenu, echange_id, avec, &donne, &recu)?,
        }
        Ok(m.fin())
    }
}

/// A game master's grant: never refused for room, only for an item the catalog ignores.
fn donner(
    m: &mut Mouvements<'_>,
    catalogue: &Catalogue,
    or: Or,
    items: &[LigneItem],
    raison: Raison,
) -> Result<(), ErreurInventaire> {
    if let Some(l) = items.iter().find(|l| catalogue.item(&l.item).is_none()) {
        return Err(ErreurInventaire::ItemInconnu(l.item.clone()));
    }
    let cause = Cause::Mj { raison };
    m.crediter(or, &cause)?;
    m.ajouter_tout(items, &cause);
    Ok(())
}

/// Crafts a recipe once: ingredients and cost out, product in, all or nothing.
fn fabriquer(
    m: &mut Mouvements<'_>,
    catalogue: &Catalogue,
    fabrication_id: FabricationId,
    recette: CodeRecette,
) -> Result<(), ErreurInventaire> {
    let def = catalogue
        .recette(&recette)
        .ok_or_else(|| ErreurInventaire::RecetteInconnue(recette.clone()))?;
    let cause = Cause::Fabrication {
        fabrication_id,
        recette: recette.clone(),
    };
    if m.deja_fait(&cause) {
        return Ok(());
    }
    for ingredient in &def.ingredients {
        m.retirer(&ingredient.item, ingredient.quantite, &cause)?;
    }
    m.debiter(def.cout, &cause)?;
    m.ajouter(&def.produit.item, def.produit.quantite, &cause);
    m.evenement(EvenementInventaire::ObjetFabrique {
        fabrication_id,
        recette,
        item: def.produit.item.clone(),
        quantite: def.produit.quantite,
    });
    m.place_suffisante(catalogue)
}

/// Settles this side of a concluded trade: what it reserved goes, what the other offered comes.
fn conclure_echange(
    m: &mut Mouvements<'_>,
    contenu: &ContenuInventaire,
    echange_id: EchangeId,
    avec: JoueurId,
    donne: &Offre,
    recu: &Offre,
) -> Result<(), ErreurInventaire> {
    let cause = Cause::Echange { echange_id, avec };
    if m.deja_fait(&cause) {
        return Ok(());
    }
    match contenu.reservations.get(&echange_id) {
        _ if donne.est_vide() => {}
        Some(reservees) if reservees.contains(donne) => {}
        None => return Err(ErreurInventaire::ReservationInconnue(echange_id)),
        Some(_) => return Err(ErreurInventaire::ReservationDifferente(echange_id)),
    }
    // Settling first releases the reservation, so the goods it locked can leave.
    m.evenement(EvenementInventaire::EchangeRegle { echange_id });
    m.debiter(donne.or, &cause)?;
    for (item, &quantite) in &donne.items {
        m.retirer(item, quantite, &cause)?;
    }
    m.crediter(recu.or, &cause)?;
    for (item, &quantite) in &recu.items {
        m.ajouter(item, quantite, &cause);
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Sens {
    Achat,
    Vente,
}

/// What a merchant asks (`Achat`) or pays (`Vente`) for so many of an item.
fn prix(
    catalogue: &Catalogue,
    marchand: &CodeMarchand,
    item: &CodeItem,
    quantite: Quantite,
    sens: Sens,
) -> Result<Or, ErreurInventaire> {
    let def = catalogue
        .marchand(marchand)
        .ok_or_else(|| ErreurInventaire::MarchandInconnu(marchand.clone()))?;
    let article = def.article(item);
    let unitaire =
        match sens {
            Sens::Achat => article.and_then(|a| a.prix_vente).ok_or_else(|| {
                ErreurInventaire::ArticleNonVendu {
                    marchand: marchand.clone(),
                    item: item.clone(),
                }
            })?,
            Sens::Vente => article.and_then(|a| a.prix_rachat).ok_or_else(|| {
                ErreurInventaire::ArticleNonRachete {
                    marchand: marchand.clone(),
                    item: item.clone(),
                }
            })?,
        };
    unitaire
        .checked_mul(quantite.valeur())
        .ok_or(ErreurInventaire::MontantTropGrand)
}

impl Aggregate for Inventaire {
    const TYPE: &'static str = "Inventaire";
    type Command = CommandeInventaire;
    type Event = EvenementInventaire;
    type Error = ErreurInventaire;
    type Services = Services;

    async fn handle(
        &mut self,
        commande: Self::Command,
        catalogue: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let evenements = self.decider(commande, catalogue)?;
        emettre(self, sink, evenements).await;
        Ok(())
    }

    fn apply(&mut self, evenement: Self::Event) {
        if let EvenementInventaire::InventaireOuvert { joueur_id } = evenement {
            self.contenu = Some(ContenuInventaire::vide(joueur_id));
            return;
        }
        if let Some(contenu) = self.contenu.as_mut() {
            mouvements::appliquer(contenu, evenement);
        }
    }
}
