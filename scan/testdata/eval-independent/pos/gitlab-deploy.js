const deployToken = 'gldt-EgN2JdLuPSTRzVMZzEk-';
const deployToken = 'gldt-TFQ7Et0k0PmwZCCWUjtu';
const deployToken = 'gldt-GdpQL7Y4QIAfE1Aj6ZlE';
const deployToken = 'gldt-vO00OgpCRDj-qcQveGyf';
const deployToken = 'gldt-2qHAPwthnHXhzcp-ON8r';
const deployToken = 'gldt--EtrdVp9SEnIgJu94Y1b';
