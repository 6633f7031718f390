//! Gold and item movements of one command, decided on a working copy of the inventory: each
//! emitted event is applied to the copy at once, so balances carried by the events and the
//! checks that follow (availability, capacity) see exactly the state replay will rebuild.

use super::{Cause, CleOperation, ContenuInventaire, ErreurInventaire, EvenementInventaire};
use crate::catalogue::{Catalogue, LigneItem};
use crate::echange::Offre;
use crate::ids::EchangeId;
use crate::valeurs::{CodeItem, Or, Quantite};

pub(super) struct Mouvements<'a> {
    initial: &'a ContenuInventaire,
    contenu: ContenuInventaire,
    evenements: Vec<EvenementInventaire>,
}

impl<'a> Mouvements<'a> {
    pub(super) fn depuis(initial: &'a ContenuInventaire) -> Self {
        Self {
            initial,
            contenu: initial.clone(),
            evenements: Vec::new(),
        }
    }

    pub(super) fn fin(self) -> Vec<EvenementInventaire> {
        self.evenements
    }

    pub(super) fn evenement(&mut self, evenement: EvenementInventaire) {
        appliquer(&mut self.contenu, evenement.clone());
        self.evenements.push(evenement);
    }

    pub(super) fn deja_fait(&self, cause: &Cause) -> bool {
        cause
            .cle()
            .is_some_and(|cle| self.contenu.operations.contains(&cle))
    }

    /// Gold not locked in a trade (other than `sauf`).
    fn or_disponible(&self, sauf: Option<EchangeId>) -> Or {
        let reserve = self.verrous(sauf).fold(0u64, |total, offres| {
            total.saturating_add(verrou_or(offres))
        });
        self.contenu
            .or
            .checked_sub(Or::new(reserve))
            .unwrap_or(Or::ZERO)
    }

    /// Items not locked in a trade (other than `sauf`).
    fn items_disponibles(&self, item: &CodeItem, sauf: Option<EchangeId>) -> u32 {
        let reserve = self.verrous(sauf).fold(0u32, |total, offres| {
            total.saturating_add(verrou_item(offres, item))
        });
        self.contenu
            .items
            .get(item)
            .copied()
            .unwrap_or(0)
            .saturating_sub(reserve)
    }

    /// The offers of every open trade but `sauf`.
    fn verrous(&self, sauf: Option<EchangeId>) -> impl Iterator<Item = &[Offre]> {
        self.contenu
            .reservations
            .iter()
            .filter(move |(id, _)| Some(**id) != sauf)
            .map(|(_, offres)| offres.as_slice())
    }

    pub(super) fn crediter(&mut self, montant: Or, cause: &Cause) -> Result<(), ErreurInventaire> {
        if montant.est_nul() {
            return Ok(());
        }
        let solde = self
            .contenu
            .or
            .checked_add(montant)
            .ok_or(ErreurInventaire::MontantTropGrand)?;
        self.evenement(EvenementInventaire::OrCredite {
            montant,
            solde,
            cause: cause.clone(),
        });
        Ok(())
    }

    pub(super) fn debiter(&mut self, montant: Or, cause: &Cause) -> Result<(), ErreurInventaire> {
        if montant.est_nul() {
            return Ok(());
        }
        let disponible = self.or_disponible(None);
        if montant > disponible {
            return Err(ErreurInventaire::OrInsuffisant {
                requis: montant,
                disponible,
            });
        }
        let solde = self.contenu.or.checked_sub(montant).unwrap_or(Or::ZERO);
        self.evenement(EvenementInventaire::OrDebite {
            montant,
            solde,
            cause: cause.clone(),
        });
        Ok(())
    }

    pub(super) fn ajouter(&mut self, item: &CodeItem, quantite: Quantite, cause: &Cause) {
        let avant = self.contenu.items.get(item).copied().unwrap_or(0);
        self.evenement(EvenementInventaire::ItemAjoute {
            item: item.clone(),
            quantite,
            total: avant.saturating_add(quantite.valeur()),
            cause: cause.clone(),
        });
    }

    pub(super) fn ajouter_tout(&mut self, lignes: &[LigneItem], cause: &Cause) {
        for ligne in lignes {
            self.ajouter(&ligne.item, ligne.quantite, cause);
        }
    }

    pub(super) fn retirer(
        &mut self,
        item: &CodeItem,
        quantite: Quantite,
        cause: &Cause,
    ) -> Result<(), ErreurInventaire> {
        let disponible = self.items_disponibles(item, None);
        if quantite.valeur() > disponible {
            return Err(ErreurInventaire::ItemsInsuffisants {
                item: item.clone(),
                requis: quantite.valeur(),
                disponible,
            });
        }
        let avant = self.contenu.items.get(item).copied().unwrap_or(0);
        self.evenement(EvenementInventaire::ItemRetire {
            item: item.clone(),
            quantite,
            total: avant - quantite.valeur(),
            cause: cause.clone(),
        });
        Ok(())
    }

    /// Locks one more offer for a trade: the trade's lock becomes the most any of its offers
    /// asks, and must fit in what other trades leave available.
    pub(super) fn reserver(
        &mut self,
        echange_id: EchangeId,
        offre: Offre,
    ) -> Result<(), ErreurInventaire> {
        let deja = self
            .contenu
            .reservations
            .get(&echange_id)
            .map_or(&[][..], Vec::as_slice);
        if deja.contains(&offre) {
            return Ok(());
        }
        let disponible = self.or_disponible(Some(echange_id));
        if offre.or > disponible {
            return Err(ErreurInventaire::OrInsuffisant {
                requis: offre.or,
                disponible,
            });
        }
        for (item, quantite) in &offre.items {
            let disponible = self.items_disponibles(item, Some(echange_id));
            if quantite.valeur() > disponible {
                return Err(ErreurInventaire::ItemsInsuffisants {
                    item: item.clone(),
                    requis: quantite.valeur(),
                    disponible,
                });
            }
        }
        self.evenement(EvenementInventaire::OffreReservee { echange_id, offre });
        Ok(())
    }

    /// Refuses a player's own operation that leaves the bag over capacity, unless it did not
    /// make things worse (a bag overfilled by loot can still be emptied).
    pub(super) fn place_suffisante(&self, catalogue: &Catalogue) -> Result<(), ErreurInventaire> {
        let capacite = catalogue.regles().capacite_inventaire;
        let necessaire = self.contenu.emplacements(catalogue);
        if necessaire > capacite && necessaire > self.initial.emplacements(catalogue) {
            return Err(ErreurInventaire::InventairePlein {
                capacite,
                necessaire,
            });
        }
        Ok(())
    }
}

/// Folds an event (but `InventaireOuvert`) into an inventory's content.
pub(super) fn appliquer(contenu: &mut ContenuInventaire, evenement: EvenementInventaire) {
    match evenement {
        EvenementInventaire::InventaireOuvert { .. } => {}
        EvenementInventaire::OrCredite { solde, cause, .. }
        | EvenementInventaire::OrDebite { solde, cause, .. } => {
            contenu.or = solde;
            noter(contenu, &cause);
        }
        EvenementInventaire::ItemAjoute {
            item, total, cause, ..
        }
        | EvenementInventaire::ItemRetire {
            item, total, cause, ..
        } => {
            if total == 0 {
                contenu.items.remove(&item);
            } else {
                contenu.items.insert(item, total);
            }
            noter(contenu, &cause);
        }
        EvenementInventaire::ObjetFabrique { fabrication_id, .. } => {
            contenu
                .operations
                .insert(CleOperation::Fabrication(fabrication_id));
        }
        EvenementInventaire::OffreReservee { echange_id, offre } => {
            let offres = contenu.reservations.entry(echange_id).or_default();
            if !offres.contains(&offre) {
                offres.push(offre);
            }
        }
        EvenementInventaire::ReservationLiberee { echange_id }
        | EvenementInventaire::EchangeRegle { echange_id } => {
            contenu.reservations.remove(&echange_id);
            contenu.operations.insert(CleOperation::Echange(echange_id));
        }
    }
}

fn noter(contenu: &mut ContenuInventaire, cause: &Cause) {
    if let Some(cle) = cause.cle() {
        contenu.operations.insert(cle);
    }
}

/// The gold a trade locks: the most any of its offers asks.
fn verrou_or(offres: &[Offre]) -> u64 {
    offres.iter().map(|o| o.or.pieces()).max().unwrap_or(0)
}

/// The count of an item a trade locks: the most any of its offers asks.
fn verrou_item(offres: &[Offre], item: &CodeItem) -> u32 {
    offres
        .iter()
        .filter_map(|o| o.items.get(item))
        .map(|q| q.valeur())
        .max()
        .unwrap_or(0)
}
