// The bag, the merchants of the zone, crafting, and trades with other players.
import { Component, OnInit, computed, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ActivatedRoute } from '@angular/router';
import { CATALOGUE, glypheItem, nomItem } from '../donnees/catalogue';
import { EchangeVue, JeuService, Offre } from '../noyau/jeu.service';

@Component({
  selector: 'app-inventaire',
  imports: [FormsModule],
  template: `
  <div class="inventaire">
   <div class="colonne">
    <section class="carte sac">
      <h2>Sac <span class="compteur">{{ objets().length }} / {{ capacite }}</span> <span class="hud-or petit"><span class="piece"></span>{{ jeu.inventaire().or }} po</span></h2>
      <div class="grille-sac" data-testid="sac">
        @for (o of cases(); track $index) {
          @if (o) {
            <div class="case" [class]="'case genre-' + o.genre" [attr.data-item]="o.code" [attr.data-quantite]="o.quantite" [title]="o.nom">
              <span class="initiale">{{ o.glyphe }}</span>
              <span class="nom-objet">{{ o.nom }}</span>
              <span class="quantite">{{ o.quantite }}</span>
            </div>
          } @else { <div class="case vide-case"></div> }
        }
      </div>
    </section>

    <section class="carte echanges" data-testid="echanges">
      <h2>Échanges</h2>
      @for (e of echanges(); track e.id) {
        <div class="echange" [class]="'echange ' + e.statut" [attr.data-echange]="e.id" [attr.data-statut]="e.statut">
          <div class="echange-cotes">
            @for (cote of [e.proposant, e.destinataire]; track cote) {
              <div class="cote" [class.accepte]="e.acceptes.includes(cote)">
                <b>{{ cote === moi() ? 'Vous' : jeu.nomDe(cote) }}</b> {{ e.acceptes.includes(cote) ? '✓ accepte' : '' }}
                <div>{{ texteOffre(e.offres[cote]) }}</div>
              </div>
            }
          </div>
          @if (e.statut === 'ouvert') {
            <div class="petit-texte" data-testid="echeance-echange">Expire à {{ heure(e.echeance) }} si personne ne conclut.</div>
            <div class="echange-actions">
              <button class="bouton petit principal" (click)="jeu.accepterEchange(e.id)" [disabled]="e.acceptes.includes(moi())" data-testid="accepter-echange">Accepter</button>
              <button class="bouton petit" (click)="modifier(e)" data-testid="modifier-echange">Mettre mon offre</button>
              <button class="bouton petit discret" (click)="jeu.annulerEchange(e.id)">Annuler</button>
            </div>
          } @else { <div class="petit-texte">{{ fin[e.statut] }}</div> }
        </div>
      } @empty { <p class="vide">Aucun échange. Choisissez un joueur présent pour lui proposer quelque chose.</p> }
      <form class="offre" (ngSubmit)="proposer()">
        <label>Avec
          <select name="avec" [(ngModel)]="avec" data-testid="echange-avec">
            <option value="">— un joueur présent —</option>
            @for (p of jeu.presents(); track p.joueur_id) { <option [value]="p.joueur_id">{{ p.nom }}</option> }
          </select>
        </label>
        <label>Or <input type="number" min="0" name="or" [(ngModel)]="offreOr" data-testid="offre-or"></label>
        <label>Objet
          <select name="item" [(ngModel)]="offreItem" data-testid="offre-item">
            <option value="">—</option>
            @for (o of objets(); track o.code) { <option [value]="o.code">{{ o.nom }} ({{ o.quantite }})</option> }
          </select>
        </label>
        <label>Qté <input type="number" min="1" name="qte" [(ngModel)]="offreQte"></label>
        <button class="bouton" type="submit" [disabled]="!avec" data-testid="proposer-echange">Proposer l’échange</button>
      </form>
    </section>

   </div>
   <div class="colonne">
    <section class="carte marchands">
      <h2>Marchands de la zone</h2>
      @for (m of marchands(); track m.code) {
        <div class="marchand" [attr.data-marchand]="m.code">
          <h3>{{ m.nom }}</h3>
          <table class="articles">
            <tr><th>Objet</th><th>Achat</th><th>Revente</th><th></th></tr>
            @for (a of m.articles; track a.item) {
              <tr [attr.data-article]="a.item">
                <td>{{ nom(a.item) }} <span class="petit-texte">({{ jeu.inventaire().items[a.item] || 0 }})</span></td>
                <td>{{ a.prix_vente ? a.prix_vente + ' po' : '—' }}</td>
                <td>{{ a.prix_rachat ? a.prix_rachat + ' po' : '—' }}</td>
                <td class="boutons">
                  @if (a.prix_vente) { <button class="bouton petit" (click)="jeu.acheter(m.code, a.item)" [attr.data-testid]="'acheter-' + a.item">Acheter</button> }
                  @if (a.prix_rachat) { <button class="bouton petit discret" (click)="jeu.vendre(m.code, a.item)" [disabled]="!jeu.inventaire().items[a.item]" [attr.data-testid]="'vendre-' + a.item">Vendre</button> }
                </td>
              </tr>
            }
          </table>
        </div>
      } @empty { <p class="vide">Aucun marchand dans cette zone.</p> }
    </section>

    <section class="carte artisanat">
      <h2>Artisanat</h2>
      <div class="recettes">
        @for (r of recettes(); track r.code) {
          <div class="recette" [class.possible]="r.possible" [attr.data-recette]="r.code">
            <div><b>{{ r.nom }}</b> → {{ r.produit }}</div>
            <div class="ingredients">
              @for (i of r.ingredients; track i.item) {
                <span [class.manque]="i.a < i.quantite">{{ i.a }}/{{ i.quantite }} {{ nom(i.item) }}</span>
              }
              @if (r.cout) { <span>{{ r.cout }} po</span> }
            </div>
            <button class="bouton petit" (click)="jeu.fabriquer(r.code)" [attr.data-testid]="'fabriquer-' + r.code">Fabriquer</button>
          </div>
        }
      </div>
      @if (jeu.derniereErreur()) { <p class="erreur" data-testid="erreur">{{ jeu.derniereErreur() }}</p> }
    </section>
   </div>
  </div>`,
})
export class EcranInventaire implements OnInit {
  readonly jeu = inject(JeuService);
  private readonly route = inject(ActivatedRoute);
  readonly capacite = CATALOGUE.regles.capacite_inventaire;
  avec = '';
  offreOr = 0;
  offreItem = '';
  offreQte = 1;

  readonly moi = computed(() => this.jeu.personnage()?.joueur_id ?? '');
  readonly objets = computed(() => Object.entries(this.jeu.inventaire().items)
    .map(([code, quantite]) => ({ code, quantite, nom: nomItem(code), glyphe: glypheItem(code), genre: CATALOGUE.items[code]?.genre ?? 'materiau' }))
    .sort((a, b) => a.genre.localeCompare(b.genre) || a.nom.localeCompare(b.nom)));
  readonly cases = computed(() => {
    const o: ({ code: string; quantite: number; nom: string; glyphe: string; genre: string } | null)[] = [...this.objets()];
    while (o.length < this.capacite) o.push(null);
    return o;
  });
  readonly echanges = computed(() => Object.values(this.jeu.echanges()).reverse());
  readonly marchands = computed(() => {
    const z = this.jeu.zone()?.code;
    return Object.entries(CATALOGUE.marchands).filter(([, m]) => m.zone === z).map(([code, m]) => ({ code, ...m }));
  });
  readonly recettes = computed(() => {
    const inv = this.jeu.inventaire();
    return Object.entries(CATALOGUE.recettes).map(([code, r]) => {
      const ingredients = r.ingredients.map((i) => ({ ...i, a: inv.items[i.item] ?? 0 }));
      return {
        code, nom: r.nom, cout: r.cout ?? 0, ingredients,
        produit: `${r.produit.quantite} × ${nomItem(r.produit.item)}`,
        possible: ingredients.every((i) => i.a >= i.quantite) && inv.or >= (r.cout ?? 0),
      };
    }).sort((a, b) => Number(b.possible) - Number(a.possible));
  });

  ngOnInit(): void {
    this.avec = this.route.snapshot.queryParamMap.get('avec') ?? '';
    this.jeu.rafraichirInventaire().catch((e) => this.jeu.erreur(e));
  }

  nom(code: string) { return nomItem(code); }

  readonly fin: Record<string, string> = {
    conclu: 'Conclu : les objets ont changé de mains.',
    annule: 'Annulé.',
    expire: 'Expiré : personne ne l’a conclu à temps, les réservations sont levées.',
  };

  heure(t: string): string {
    return t ? new Date(t).toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' }) : '—';
  }

  texteOffre(o?: Offre): string {
    if (!o) return 'rien';
    const parts = Object.entries(o.items).map(([k, q]) => `${q} × ${nomItem(k)}`);
    if (o.or) parts.unshift(`${o.or} po`);
    return parts.join(', ') || 'rien';
  }

  private offre(): Offre {
    const items: Record<string, number> = {};
    if (this.offreItem && this.offreQte > 0) items[this.offreItem] = this.offreQte;
    return { or: Math.max(0, this.offreOr || 0), items };
  }

  async proposer(): Promise<void> {
    if (!this.avec) return;
    await this.jeu.proposerEchange(this.avec, this.offre());
  }

  async modifier(e: EchangeVue): Promise<void> {
    await this.jeu.modifierOffre(e.id, this.offre());
  }
}
