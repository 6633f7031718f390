// A game master's actions on an account and its characters (§4.10): ban (for a while or until
// lifted), unban, kick, mute, grant or remove gold and items, move a stuck character. Every
// one needs a reason, written in the account's file with the game master as its author.
import { Component, effect, inject, input, output, signal, untracked } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { CATALOGUE, nomItem, nomZone } from '../../donnees/catalogue';
import { ConsoleService, Dossier, LigneItem, PersonnageTrouve } from '../../noyau/console.service';

const DUREES_BAN = [
  { s: 0, texte: 'sans fin (jusqu’à un rétablissement)' },
  { s: 3600, texte: '1 heure' },
  { s: 86_400, texte: '1 jour' },
  { s: 7 * 86_400, texte: '7 jours' },
  { s: 30 * 86_400, texte: '30 jours' },
];
const DUREES_SILENCE = [
  { s: 600, texte: '10 minutes' },
  { s: 3600, texte: '1 heure' },
  { s: 86_400, texte: '1 jour' },
];

@Component({
  selector: 'app-console-actions',
  imports: [FormsModule],
  template: `
  <section class="carte actions-mj" data-testid="actions-mj">
    <h2>Agir</h2>
    <label>Raison — obligatoire, consignée au dossier avec votre nom
      <textarea [(ngModel)]="raison" maxlength="500" rows="2" placeholder="Par exemple : triche avérée (signalement n°3)" data-testid="raison"></textarea>
    </label>

    <h3>Le compte {{ dossier().login }}</h3>
    <div class="ligne-formulaire">
      <select [(ngModel)]="dureeBan" aria-label="Durée du bannissement" data-testid="duree-ban">
        @for (d of dureesBan; track d.s) { <option [ngValue]="d.s">{{ d.texte }}</option> }
      </select>
      <button class="bouton danger" (click)="bannir()" [disabled]="!raisonDonnee()" data-testid="bannir">Bannir</button>
      @if (dossier().bannissement) {
        <button class="bouton soin" (click)="retablir()" [disabled]="!raisonDonnee()" data-testid="retablir">Rétablir</button>
      }
      <button class="bouton" (click)="expulser()" [disabled]="!raisonDonnee()" title="Ferme ses connexions ; il peut revenir" data-testid="expulser">Expulser</button>
    </div>

    @if (personnages().length) {
      <h3>Un personnage
        <select [(ngModel)]="cible" aria-label="Personnage visé" data-testid="cible">
          @for (p of personnages(); track p.joueur_id) { <option [value]="p.joueur_id">{{ p.nom }}</option> }
        </select>
      </h3>
      <div class="ligne-formulaire">
        <select [(ngModel)]="dureeSilence" aria-label="Durée du silence" data-testid="duree-silence">
          @for (d of dureesSilence; track d.s) { <option [ngValue]="d.s">{{ d.texte }}</option> }
        </select>
        <button class="bouton" (click)="museler()" [disabled]="!raisonDonnee()" data-testid="museler">Réduire au silence</button>
      </div>
      <div class="ligne-formulaire">
        <label>Or <input type="number" min="0" [(ngModel)]="or" data-testid="correction-or"></label>
        <label>Objet
          <select [(ngModel)]="item" data-testid="correction-item">
            <option value="">— aucun —</option>
            @for (i of items; track i.code) { <option [value]="i.code">{{ i.nom }}</option> }
          </select>
        </label>
        <label>Quantité <input type="number" min="1" [(ngModel)]="quantite" data-testid="correction-quantite"></label>
        <button class="bouton principal" (click)="corriger('donner')" [disabled]="!raisonDonnee() || !correction()" data-testid="donner">Donner</button>
        <button class="bouton danger" (click)="corriger('retirer')" [disabled]="!raisonDonnee() || !correction()" data-testid="retirer">Retirer</button>
      </div>
      <div class="ligne-formulaire">
        <label>Zone
          <select [(ngModel)]="zone" (ngModelChange)="auDepart($event)" data-testid="deplacer-zone">
            @for (z of zones; track z.code) { <option [value]="z.code">{{ z.nom }}</option> }
          </select>
        </label>
        <label>x <input type="number" [(ngModel)]="x" data-testid="deplacer-x"></label>
        <label>y <input type="number" [(ngModel)]="y" data-testid="deplacer-y"></label>
        <button class="bouton" (click)="deplacer()" [disabled]="!raisonDonnee()" data-testid="deplacer">Déplacer</button>
      </div>
    }
    @if (resultat(); as r) { <p class="info" data-testid="action-resultat">{{ r }}</p> }
  </section>`,
})
export class PanneauActions {
  private readonly mj = inject(ConsoleService);
  readonly dossier = input.required<Dossier>();
  readonly personnages = input.required<PersonnageTrouve[]>();
  /** An action was done: the file and the timeline have something new. */
  readonly fait = output<void>();
  readonly resultat = signal<string | null>(null);
  readonly dureesBan = DUREES_BAN;
  readonly dureesSilence = DUREES_SILENCE;
  readonly items = Object.entries(CATALOGUE.items).map(([code, i]) => ({ code, nom: i.nom }));
  readonly zones = Object.entries(CATALOGUE.zones).map(([code, z]) => ({ code, nom: z.nom }));

  raison = '';
  dureeBan = 0;
  dureeSilence = 600;
  cible = '';
  or = 0;
  item = '';
  quantite = 1;
  zone = CATALOGUE.regles.zone_depart;
  x = CATALOGUE.zones[CATALOGUE.regles.zone_depart]?.depart.x ?? 0;
  y = CATALOGUE.zones[CATALOGUE.regles.zone_depart]?.depart.y ?? 0;

  readonly raisonDonnee = () => this.raison.trim().length > 0;
  readonly correction = () => Number(this.or) > 0 || (this.item !== '' && Number(this.quantite) > 0);
  private nomCible(): string { return this.personnages().find((p) => p.joueur_id === this.cible)?.nom ?? this.cible.slice(0, 8); }

  constructor() {
    effect(() => {
      const l = this.personnages();
      untracked(() => { if (!l.some((p) => p.joueur_id === this.cible)) this.cible = l[0]?.joueur_id ?? ''; });
    });
  }

  auDepart(zone: string): void {
    const d = CATALOGUE.zones[zone]?.depart;
    if (d) { this.x = d.x; this.y = d.y; }
  }

  async bannir(): Promise<void> {
    const d = this.dossier();
    const r = await this.agir(() => this.mj.bannir(d.compte_id, this.raison.trim(), this.dureeBan || null));
    if (r) this.fin(`${d.login} est banni ${r.jusqu_a ? `jusqu’au ${new Date(r.jusqu_a).toLocaleString('fr-FR')}` : 'sans date de fin'} : ses connexions sont fermées.`);
  }

  async retablir(): Promise<void> {
    const d = this.dossier();
    if (await this.agir(() => this.mj.retablir(d.compte_id, this.raison.trim()))) this.fin(`${d.login} est rétabli.`);
  }

  async expulser(): Promise<void> {
    const d = this.dossier();
    if (await this.agir(() => this.mj.expulser(d.compte_id, this.raison.trim()))) this.fin(`${d.login} est expulsé : ses connexions sont fermées.`);
  }

  async museler(): Promise<void> {
    const s = DUREES_SILENCE.find((d) => d.s === this.dureeSilence);
    if (await this.agir(() => this.mj.museler(this.cible, this.dureeSilence, this.raison.trim()))) {
      this.fin(`${this.nomCible()} est réduit au silence pour ${s?.texte ?? `${this.dureeSilence} s`}.`);
    }
  }

  async corriger(sens: 'donner' | 'retirer'): Promise<void> {
    const items: LigneItem[] = this.item ? [{ item: this.item, quantite: Number(this.quantite) }] : [];
    const or = Number(this.or) || 0;
    if (await this.agir(() => this.mj.corriger(sens, this.cible, or, items, this.raison.trim()))) {
      const quoi = [or ? `${or} po` : '', ...items.map((i) => `${i.quantite} × ${nomItem(i.item)}`)].filter(Boolean).join(' et ');
      this.fin(`${sens === 'donner' ? 'Donné à' : 'Retiré à'} ${this.nomCible()} : ${quoi}.`);
      this.or = 0;
      this.item = '';
      this.quantite = 1;
    }
  }

  async deplacer(): Promise<void> {
    const [x, y] = [Number(this.x), Number(this.y)];
    if (await this.agir(() => this.mj.deplacer(this.cible, this.zone, x, y, this.raison.trim()))) {
      this.fin(`${this.nomCible()} est déplacé en ${nomZone(this.zone)} (${x}, ${y}).`);
    }
  }

  private agir<T>(f: () => Promise<T>): Promise<T | undefined> {
    this.resultat.set(null);
    return this.mj.tenter(f);
  }

  /** Done: said, the reason cleared (the next action needs its own), the file read again. */
  private fin(texte: string): void {
    this.resultat.set(texte);
    this.raison = '';
    this.fait.emit();
  }
}
