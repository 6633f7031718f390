import { Routes } from '@angular/router';
import { EcranAudit } from './ecrans/audit';
import { EcranCombat } from './ecrans/combat';
import { EcranConnexion } from './ecrans/connexion';
import { EcranInventaire } from './ecrans/inventaire';
import { EcranJeu } from './ecrans/jeu';
import { EcranMonde } from './ecrans/monde';
import { EcranPersonnages } from './ecrans/personnages';
import { EcranQuetes } from './ecrans/quetes';
import { avecSession } from './noyau/garde';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'personnages' },
  { path: 'connexion', component: EcranConnexion, title: 'Ambrelune — connexion' },
  { path: 'personnages', component: EcranPersonnages, canActivate: [avecSession], title: 'Ambrelune — personnages' },
  {
    path: 'jeu', component: EcranJeu, canActivate: [avecSession],
    children: [
      { path: '', pathMatch: 'full', redirectTo: 'monde' },
      { path: 'monde', component: EcranMonde, title: 'Ambrelune — monde' },
      { path: 'combat', component: EcranCombat, title: 'Ambrelune — combat' },
      { path: 'quetes', component: EcranQuetes, title: 'Ambrelune — quêtes' },
      { path: 'inventaire', component: EcranInventaire, title: 'Ambrelune — inventaire' },
      { path: 'audit', component: EcranAudit, title: 'Ambrelune — chroniques' },
    ],
  },
  { path: '**', redirectTo: 'personnages' },
];
