
orders'o-1*{"total":12.5,"items":[1,2]}0*{
"note":"line\nbreak"
}01orders-2024o-2*{"doc":{"paid":true}}0@H	o-30	café "x""r2*{}0:p2"enrich*tenant-a