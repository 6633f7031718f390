import { Component } from '@angular/core';
import { RouterOutlet } from '@angular/router';
import { VoileBanni } from './ecrans/banni';

@Component({
  selector: 'app-root',
  imports: [RouterOutlet, VoileBanni],
  template: `<router-outlet /><app-banni />`,
})
export class App {}
