// A timeline (`mj.chronologie`): every event of an account's (or a character's) aggregates and
// the system's reactions, in global order, a page at a time. Each shows its time, aggregate,
// type, author, and its links: the correlation it shares with the request that started it all,
// and its cause (the event a process manager answered, or the command that wrote it). A link
// shows the related events; « État ici » travels to that event.
import { Component, effect, inject, input, output, signal, untracked } from '@angular/core';
import { nomItem, nomZone } from '../../donnees/catalogue';
import { ConsoleService, EvenementChronologie, PointDuTemps, Sujet } from '../../noyau/console.service';

/** A followed link: which events it gathers. */
interface Lien { genre: 'correlation' | 'cause'; valeur: string; de: EvenementChronologie; }

const PAGE = 50;
/** When a link is followed, the rest of the timeline is loaded, at most this many pages. */
const PAGES_MAX = 40;

@Component({
  selector: 'app-console-chronologie',
  template: `
  <section class="carte chronologie" data-testid="chronologie" [attr.data-fin]="fin()">
    <h2>Chronologie <span class="petit-texte">{{ evenements().length }} événement{{ evenements().length > 1 ? 's' : '' }}{{ fin() ? '' : ', et la suite' }}</span></h2>
    @if (lien(); as l) {
      <div class="lies" data-testid="lies" [attr.data-genre]="l.genre">
        <h3>
          @if (l.genre === 'correlation') { Même corrélation <code>{{ l.valeur.slice(0, 8) }}</code> que {{ l.de.event_type }} : }
          @else { Cause de {{ l.de.event_type }} (<code>{{ l.valeur.slice(0, 8) }}</code>) : }
          {{ lies().length }} événement{{ lies().length > 1 ? 's' : '' }}
          <button class="bouton petit discret" (click)="lien.set(null)" data-testid="fermer-lies">Fermer</button>
        </h3>
        <table class="table-audit">
          @for (e of lies(); track e.event_id) {
            <tr [attr.data-type]="e.event_type"><td>{{ heure(e.recorded_at) }}</td><td>{{ mj.nomAgregat(e.aggregate_type, e.aggregate_id) }} n°{{ e.sequence }}</td><td><code>{{ e.event_type }}</code></td><td>{{ resume(e) }}</td><td>{{ mj.auteur(e.compte_id) }}</td></tr>
          } @empty { <tr><td class="vide">Aucun événement de cette chronologie.</td></tr> }
        </table>
      </div>
    }
    <div class="defile haute">
    <table class="table-audit" data-testid="evenements">
      <tr><th>Heure</th><th>Agrégat</th><th>Événement</th><th>Détail</th><th>Auteur</th><th>Liens</th><th></th></tr>
      @for (e of evenements(); track e.event_id) {
        <tr [class.lie]="estLie(e)" [class.reaction]="e.reaction" [attr.data-type]="e.event_type" [attr.data-agregat]="e.aggregate_type" [attr.data-sequence]="e.sequence">
          <td>{{ heure(e.recorded_at) }}</td>
          <td>{{ mj.nomAgregat(e.aggregate_type, e.aggregate_id) }} <span class="petit-texte">n°{{ e.sequence }}</span>
            @if (e.reaction) { <span class="badge" title="Un agrégat que cette chronologie ne suit pas, touché par la même requête">réaction</span> }</td>
          <td><code>{{ e.event_type }}</code> <span class="petit-texte">v{{ e.event_version }}</span></td>
          <td class="detail">{{ resume(e) }}</td>
          <td>{{ mj.auteur(e.compte_id) }}</td>
          <td class="liens">
            @if (e.correlation_id; as c) { <button class="lien" (click)="suivre({ genre: 'correlation', valeur: c, de: e })" title="Les événements de la même requête" data-testid="lien-correlation">≡ {{ c.slice(0, 8) }}</button> }
            @if (e.causation_id; as c) { <button class="lien" (click)="suivre({ genre: 'cause', valeur: c, de: e })" title="Ce qui l’a causé" data-testid="lien-cause">← {{ c.slice(0, 8) }}</button> }
          </td>
          <td><button class="bouton petit" (click)="voyager.emit({ aggregate_type: e.aggregate_type, aggregate_id: e.aggregate_id, sequence: e.sequence })" data-testid="voyager">État ici</button></td>
        </tr>
      } @empty { <tr><td colspan="7" class="vide">Rien n’est encore arrivé ici.</td></tr> }
    </table>
    </div>
    @if (!fin()) { <button class="bouton petit" (click)="page()" data-testid="chronologie-suite">Événements suivants…</button> }
  </section>`,
})
export class PanneauChronologie {
  readonly mj = inject(ConsoleService);
  readonly sujet = input.required<Sujet>();
  readonly voyager = output<PointDuTemps>();
  readonly evenements = signal<EvenementChronologie[]>([]);
  readonly fin = signal(false);
  readonly lien = signal<Lien | null>(null);
  readonly lies = signal<EvenementChronologie[]>([]);
  private curseur: string | null = null;
  private generation = 0;

  constructor() {
    effect(() => {
      this.sujet();
      untracked(() => {
        this.generation++;
        this.evenements.set([]);
        this.fin.set(false);
        this.lien.set(null);
        this.curseur = null;
        this.page();
      });
    });
  }

  /** The next page (pages of a timeline left for another never land in this one). */
  async page(limite = PAGE): Promise<boolean> {
    const generation = this.generation;
    const r = await this.mj.tenter(() => this.mj.chronologie(this.sujet(), this.curseur, limite));
    if (!r || generation !== this.generation) return false;
    this.curseur = r.curseur;
    this.evenements.update((l) => [...l, ...r.evenements]);
    this.fin.set(r.fin);
    return true;
  }

  /** Follows a link: the whole timeline loaded (bounded), then the events it gathers. */
  async suivre(l: Lien): Promise<void> {
    for (let n = 0; n < PAGES_MAX && !this.fin(); n++) if (!(await this.page(200))) break;
    this.lien.set(l);
    this.lies.set(this.evenements().filter((e) => this.dans(e, l)));
  }

  estLie(e: EvenementChronologie): boolean {
    const l = this.lien();
    return !!l && this.dans(e, l);
  }

  private dans(e: EvenementChronologie, l: Lien): boolean {
    // A cause is an event (a reaction's) or a command (the events it wrote).
    return l.genre === 'correlation' ? e.correlation_id === l.valeur : e.event_id === l.valeur || e.id_commande === l.valeur;
  }

  heure(h: string): string {
    return new Date(h).toLocaleString('fr-FR', { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** What an event says, in a few words. */
  resume(e: EvenementChronologie): string {
    // The stored payload is tagged by its type: `{"OrCredite": {…}}`.
    const d = e.payload?.[e.event_type] ?? e.payload ?? {};
    const cause = d.cause?.type ? ` (${d.cause.type}${d.cause.raison ? ` : ${d.cause.raison}` : ''})` : '';
    switch (e.event_type) {
      case 'OrCredite': return `+${d.montant} po → ${d.solde} po${cause}`;
      case 'OrDebite': return `−${d.montant} po → ${d.solde} po${cause}`;
      case 'ItemAjoute': return `+${d.quantite} × ${nomItem(d.item)} → ${d.total}${cause}`;
      case 'ItemRetire': return `−${d.quantite} × ${nomItem(d.item)} → ${d.total}${cause}`;
      case 'XpGagnee': return `+${d.xp} XP → ${d.xp_totale}`;
      case 'NiveauAtteint': return `niveau ${d.niveau}`;
      case 'JoueurCree': return `${d.nom} (${d.classe})`;
      case 'CompteBanni': return `« ${d.raison} », ${d.jusqu_a ? `jusqu’au ${new Date(d.jusqu_a).toLocaleString('fr-FR')}` : 'sans fin'}`;
      case 'CompteRetabli': case 'CompteExpulse': return `« ${d.raison} »`;
      case 'PersonnageMusele': return `${Math.round(d.duree_s / 60)} min : « ${d.raison} »`;
      case 'PersonnageDeplace': return `vers ${nomZone(d.zone)} (${d.position?.x}, ${d.position?.y}) : « ${d.raison} »`;
      default: {
        const texte = JSON.stringify(d);
        return texte.length > 90 ? `${texte.slice(0, 89)}…` : texte;
      }
    }
  }
}
